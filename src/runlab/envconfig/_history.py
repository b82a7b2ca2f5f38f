"""The differential env-config history: each distinct config once, per-epoch states run-length encoded.

A *state* is the set of ``(task, config hash, env count, probability)`` in play at one epoch. The
history keeps a list of :class:`Span` objects: a state and the epochs it lasted. A trainer that
records the same state for a million epochs adds one span, so memory and artifact size grow with
the number of changes, not with training length. Epochs that go backwards (a run resumed from an
earlier checkpoint) start a new *segment*; nothing recorded before is overwritten, and questions
about an epoch answer from the latest segment that covers it.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runlab.envconfig._keys import KeyParams

if TYPE_CHECKING:
    import pandas as pd

#: Format tag of the history this package writes.
FORMAT = "runlab.env_config_history/2"


@dataclass(frozen=True, order=True)
class TaskEntry:
    """One task in play: its config (by hash), how many envs run it, and its sampling probability."""

    task: str
    config: str
    """Hash of the config (a key of :attr:`ConfigHistory.snapshots`)."""
    num_envs: int
    probability: float | None
    """``None`` when the curriculum gave none, or gave a non-finite value."""


@dataclass
class Span:
    """Consecutive recorded epochs with one state."""

    epoch: int
    """First epoch of the span."""
    agent_step: int
    last_epoch: int
    last_agent_step: int
    count: int
    """How many epochs were recorded in the span (fewer than the epoch range when the trainer
    records every few epochs)."""
    segment: int
    """0 for the first run of training, +1 each time epochs went backwards (a resume)."""
    tasks: tuple[TaskEntry, ...]
    """Sorted by task, then config hash."""


@dataclass(frozen=True)
class EpochState:
    """What was in play at one epoch."""

    epoch: int
    agent_step: int
    """Recorded, or interpolated linearly between the recorded epochs around it."""
    since_epoch: int
    """First epoch of this state."""
    segment: int
    tasks: tuple[TaskEntry, ...]
    configs: dict[str, Any] = field(repr=False)
    """Hash -> full config of the tasks in play."""

    def to_dict(self) -> dict[str, Any]:
        """``{"epoch", "agent_step", "tasks": [{"task", "num_envs", "probability", "config"}]}``."""
        return {
            "epoch": self.epoch,
            "agent_step": self.agent_step,
            "tasks": [{"task": t.task, "num_envs": t.num_envs, "probability": t.probability,
                       "config_hash": t.config, "config": self.configs[t.config]} for t in self.tasks],
        }


@dataclass(frozen=True)
class Change:
    """A point where the set of (task, config) in play changed."""

    epoch: int
    agent_step: int
    segment: int
    added: tuple[TaskEntry, ...]
    removed: tuple[TaskEntry, ...]
    tasks: tuple[TaskEntry, ...]
    """Everything in play from this epoch on."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form: epoch, step, and the task names added, removed and in play."""
        return {"epoch": self.epoch, "agent_step": self.agent_step, "segment": self.segment,
                "added": [t.task for t in self.added], "removed": [t.task for t in self.removed],
                "tasks": [t.task for t in self.tasks]}


def _pairs(tasks: tuple[TaskEntry, ...]) -> frozenset[tuple[str, str]]:
    return frozenset((t.task, t.config) for t in tasks)


class ConfigHistory:
    """Env configurations in play over training (see the module docstring for the model)."""

    def __init__(self, *, meta: Mapping[str, Any] | None = None, source_format: str = FORMAT) -> None:
        self.snapshots: dict[str, Any] = {}
        """Config hash -> full config, each distinct config once."""
        self.spans: list[Span] = []
        self.meta: dict[str, Any] = dict(meta or {})
        """Run id, curriculum, task counts, problems... (the artifact metadata)."""
        self.source_format = source_format
        """The format this history was read from (or :data:`FORMAT`)."""

    # -- building ----------------------------------------------------------------------------
    def add_snapshot(self, key: str, config: Any) -> None:
        """Keep ``config`` under its hash ``key`` (once)."""
        self.snapshots.setdefault(key, config)

    def append(self, epoch: int, agent_step: int, tasks: tuple[TaskEntry, ...]) -> bool:
        """Record one epoch's state (``tasks`` sorted); True when it opened a new span."""
        last = self.spans[-1] if self.spans else None
        if last is not None and epoch > last.last_epoch and last.tasks == tasks:
            last.last_epoch, last.last_agent_step = epoch, agent_step
            last.count += 1
            return False
        segment = 0 if last is None else last.segment + (epoch <= last.last_epoch)
        self.spans.append(Span(epoch, agent_step, epoch, agent_step, 1, segment, tasks))
        return True

    # -- questions ---------------------------------------------------------------------------
    @property
    def epochs_recorded(self) -> int:
        """Number of ``record()`` calls the history holds."""
        return sum(s.count for s in self.spans)

    def at_epoch(self, epoch: int) -> EpochState | None:
        """The state in play at ``epoch`` (latest segment first); ``None`` before the first record."""
        for i in range(len(self.spans) - 1, -1, -1):
            s = self.spans[i]
            nxt = self.spans[i + 1] if i + 1 < len(self.spans) else None
            end = nxt.epoch - 1 if nxt is not None and nxt.segment == s.segment else s.last_epoch
            if s.epoch <= epoch <= end:
                step = self._agent_step(i, epoch)
                configs = {t.config: self.snapshots.get(t.config) for t in s.tasks}
                return EpochState(epoch, step, s.epoch, s.segment, s.tasks, configs)
        return None

    def _agent_step(self, i: int, epoch: int) -> int:
        """Agent step at ``epoch`` inside span ``i``: recorded, or linear between the known epochs around it."""
        s = self.spans[i]
        points = [(s.epoch, s.agent_step), (s.last_epoch, s.last_agent_step)]
        nxt = self.spans[i + 1] if i + 1 < len(self.spans) else None
        if nxt is not None and nxt.segment == s.segment:
            points.append((nxt.epoch, nxt.agent_step))
        xs = [p[0] for p in points]
        j = bisect.bisect_left(xs, epoch)
        if j < len(xs) and xs[j] == epoch:
            return points[j][1]
        if j == 0 or j == len(xs):
            return points[min(j, len(xs) - 1)][1]
        (e0, a0), (e1, a1) = points[j - 1], points[j]
        return round(a0 + (a1 - a0) * (epoch - e0) / (e1 - e0))

    def changes(self) -> list[Change]:
        """Each point where a task entered or left play, or a task's config changed (first record included)."""
        out: list[Change] = []
        prev: tuple[TaskEntry, ...] = ()
        for s in self.spans:
            if not out or _pairs(s.tasks) != _pairs(prev):
                old, new = _pairs(prev), _pairs(s.tasks)
                added = tuple(t for t in s.tasks if (t.task, t.config) not in old)
                removed = tuple(t for t in prev if (t.task, t.config) not in new)
                out.append(Change(s.epoch, s.agent_step, s.segment, added, removed, s.tasks))
            prev = s.tasks
        return out

    def task_frequencies(self) -> dict[str, int]:
        """Task -> recorded epochs it was in play, most frequent first."""
        counts: Counter[str] = Counter()
        for s in self.spans:
            for task in {t.task for t in s.tasks}:
                counts[task] += s.count
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def unique_configs(self) -> dict[str, Any]:
        """Hash -> config of every configuration that was in play, in first-seen order."""
        seen: dict[str, Any] = {}
        for s in self.spans:
            for t in s.tasks:
                if t.config not in seen:
                    seen[t.config] = self.snapshots.get(t.config)
        return seen

    def tasks(self) -> list[str]:
        """Every task that was in play, in first-seen order."""
        return list(dict.fromkeys(t.task for s in self.spans for t in s.tasks))

    def key_parameters(self, key_params: Mapping[str, str] | KeyParams | None = None) -> list[dict[str, Any]]:
        """One row per distinct (task, config): ``task``, ``config_hash``, ``first_epoch``, ``params``."""
        kp = key_params if isinstance(key_params, KeyParams) else KeyParams(key_params)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for s in self.spans:
            for t in s.tasks:
                if (t.task, t.config) not in rows:
                    rows[(t.task, t.config)] = {"task": t.task, "config_hash": t.config, "first_epoch": s.epoch,
                                                "params": kp.extract(self.snapshots.get(t.config))}
        return list(rows.values())

    def sequence(self) -> Iterator[dict[str, Any]]:
        """The state sequence with full configs, one item per span: what a replay needs."""
        for s in self.spans:
            yield {"epoch": s.epoch, "agent_step": s.agent_step, "last_epoch": s.last_epoch,
                   "last_agent_step": s.last_agent_step, "count": s.count, "segment": s.segment,
                   "tasks": [{"task": t.task, "num_envs": t.num_envs, "probability": t.probability,
                              "config": self.snapshots.get(t.config)} for t in s.tasks]}

    def to_frame(self, key_params: Mapping[str, str] | KeyParams | None = None) -> pd.DataFrame:
        """One row per (span, task config): epoch range, steps, env count, probability, key parameters."""
        import pandas as pd

        kp = key_params if isinstance(key_params, KeyParams) else KeyParams(key_params)
        cache: dict[str, dict[str, Any]] = {}
        rows = []
        for s in self.spans:
            for t in s.tasks:
                if t.config not in cache:
                    cache[t.config] = kp.extract(self.snapshots.get(t.config))
                rows.append({"segment": s.segment, "epoch_start": s.epoch, "epoch_end": s.last_epoch,
                             "agent_step_start": s.agent_step, "agent_step_end": s.last_agent_step,
                             "epochs_recorded": s.count, "task": t.task, "config_hash": t.config,
                             "num_envs": t.num_envs, "probability": t.probability, **cache[t.config]})
        base = ["segment", "epoch_start", "epoch_end", "agent_step_start", "agent_step_end", "epochs_recorded",
                "task", "config_hash", "num_envs", "probability"]
        return pd.DataFrame(rows, columns=list(dict.fromkeys(base + [k for r in rows for k in r])))

    # -- storage -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The artifact content (:data:`FORMAT`): meta, snapshots by hash, run-length encoded history.

        Each history item's ``tasks`` maps a task name to ``{"config", "num_envs", "probability"}``;
        when one task runs several configs at once, ``config`` is the one on most envs and
        ``also`` maps the other hashes to their env counts.
        """
        used = self.unique_configs()
        return {"format": FORMAT, "meta": self.meta, "snapshots": {k: self.snapshots[k] for k in used},
                "history": [_span_json(s) for s in self.spans]}

    @classmethod
    def from_json(cls, data: Any, *, where: str = "env-config history") -> ConfigHistory:
        """Read any of the three formats (this one, the samples' ``/1``, the original design's)."""
        from runlab.envconfig._formats import parse

        return parse(data, where)


def _span_json(s: Span) -> dict[str, Any]:
    by_task: dict[str, list[TaskEntry]] = {}
    for t in s.tasks:
        by_task.setdefault(t.task, []).append(t)
    tasks: dict[str, Any] = {}
    for name, entries in by_task.items():
        main = max(entries, key=lambda e: e.num_envs)
        item: dict[str, Any] = {"config": main.config, "num_envs": main.num_envs, "probability": main.probability}
        others = {e.config: e.num_envs for e in entries if e is not main}
        if others:
            item["also"] = others
        tasks[name] = item
    return {"epoch": s.epoch, "agent_step": s.agent_step, "last_epoch": s.last_epoch,
            "last_agent_step": s.last_agent_step, "count": s.count, "segment": s.segment, "tasks": tasks}
