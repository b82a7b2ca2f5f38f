"""Reading the three env-config history formats into one :class:`ConfigHistory`.

- ``runlab.env_config_history/2`` (this package): run-length encoded spans.
- ``runlab.env_config_history/1`` (the sample project's first writer): one item per epoch with the
  same ``tasks`` mapping; replayed through :meth:`ConfigHistory.append`, which run-length encodes it.
- The original design's ``env_config_history.json``: ``{history: [{epoch, agent_step, timestamp,
  task_id, task_name, config}], task_counts, curriculum_stats}``, one task (and full config) per item;
  items of the same epoch form one state, each item counting as one env.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from runlab.envconfig._canonical import finite_or_none, hash_config
from runlab.envconfig._history import FORMAT, ConfigHistory, Span, TaskEntry
from runlab.errors import InputError

FORMAT_V1 = "runlab.env_config_history/1"
FORMAT_ORIGINAL = "env_config_history.json (original design)"


def parse(data: Any, where: str) -> ConfigHistory:
    """A :class:`ConfigHistory` from decoded JSON; :class:`InputError` naming ``where`` when it is none of the formats."""
    if not isinstance(data, Mapping):
        raise InputError(f"{where} is not an env-config history (a JSON object), got {type(data).__name__}")
    fmt = data.get("format")
    try:
        if fmt == FORMAT:
            return _parse_v2(data)
        if fmt == FORMAT_V1:
            return _parse_v1(data)
        if fmt is None and isinstance(data.get("history"), list):
            return _parse_original(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{where} ({fmt or 'no format tag'}) is damaged: {type(exc).__name__}: {exc}",
                         hint="re-log the history, or fetch the run's environment_configs artifact again") from exc
    raise InputError(f"{where} has an unknown format {fmt!r}",
                     hint=f"runlab reads {FORMAT!r}, {FORMAT_V1!r} and the original env_config_history.json")


def _entries(tasks: Mapping[str, Any]) -> tuple[TaskEntry, ...]:
    out = []
    for name, item in tasks.items():
        prob = finite_or_none(item.get("probability"))
        out.append(TaskEntry(str(name), str(item["config"]), int(item.get("num_envs", 1)), prob))
        out.extend(TaskEntry(str(name), str(h), int(n), prob) for h, n in (item.get("also") or {}).items())
    return tuple(sorted(out, key=lambda t: (t.task, t.config)))


def _check_refs(hist: ConfigHistory) -> ConfigHistory:
    missing = sorted({t.config for s in hist.spans for t in s.tasks} - set(hist.snapshots))
    if missing:
        raise InputError(f"env-config history refers to {len(missing)} config hash(es) it has no snapshot for "
                         f"(first: {missing[0]})", hint="the file is incomplete; fetch the latest artifact version")
    return hist


def _parse_v2(data: Mapping[str, Any]) -> ConfigHistory:
    hist = ConfigHistory(meta=data.get("meta") or {}, source_format=FORMAT)
    hist.snapshots = dict(data.get("snapshots") or {})
    for item in data["history"]:
        hist.spans.append(Span(int(item["epoch"]), int(item["agent_step"]), int(item["last_epoch"]),
                               int(item["last_agent_step"]), int(item["count"]), int(item.get("segment", 0)),
                               _entries(item["tasks"])))
    return _check_refs(hist)


def _parse_v1(data: Mapping[str, Any]) -> ConfigHistory:
    hist = ConfigHistory(meta=data.get("meta") or {}, source_format=FORMAT_V1)
    hist.snapshots = dict(data.get("snapshots") or {})
    for item in data["history"]:
        hist.append(int(item["epoch"]), int(item.get("agent_step", 0)), _entries(item["tasks"]))
    return _check_refs(hist)


def _parse_original(data: Mapping[str, Any]) -> ConfigHistory:
    meta = {k: data[k] for k in ("task_counts", "curriculum_stats") if k in data}
    hist = ConfigHistory(meta=meta, source_format=FORMAT_ORIGINAL)
    epoch: int | None = None
    step = 0
    counts: Counter[tuple[str, str]] = Counter()

    def flush() -> None:
        if epoch is not None:
            hist.append(epoch, step, tuple(TaskEntry(t, h, n, None) for (t, h), n in sorted(counts.items())))

    for item in data["history"]:
        e = int(item.get("epoch", 0))
        if e != epoch:
            flush()
            epoch, step, counts = e, int(item.get("agent_step", 0)), Counter()
        task = str(item.get("task_name") or item.get("task_id") or "unknown")
        key, _ = hash_config(item.get("config") or {})
        hist.add_snapshot(key, item.get("config") or {})
        counts[(task, key)] += 1
    flush()
    return hist
