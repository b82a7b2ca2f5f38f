"""The training side: a tracker the trainer calls once per epoch.

Three lines in a trainer::

    tracker = ConfigTracker(wandb_run)
    tracker.record(epoch=epoch, agent_step=step, envs=[(task, cfg) for task, cfg in envs_in_play],
                   task_probabilities=curriculum_probs)
    tracker.finish()

The tracker only reads what it is given: it never asks the curriculum for a task (the original
design's ``get_task()`` call changed the curriculum's state). Per epoch it logs ``env/*`` key
parameters (env-weighted means over the envs in play), ``curriculum/task_prob/<task>``,
``curriculum/num_tasks_in_play`` and ``curriculum/num_unique_configs`` (distinct configs in play),
keeps the differential :class:`ConfigHistory`, and uploads it as an ``environment_configs``
artifact at the first record, after config changes (at most once per ``debounce_epochs``), every
``save_interval`` epochs and at :meth:`finish`. On ranks other than 0 every method is a no-op.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from runlab.envconfig._canonical import finite_or_none, hash_config
from runlab.envconfig._history import ConfigHistory, TaskEntry
from runlab.envconfig._keys import KeyParams
from runlab.envconfig._rank import process_rank
from runlab.errors import InputError

log = logging.getLogger("runlab.envconfig")

#: File name inside the artifact (the original design's name).
HISTORY_FILE = "env_config_history.json"
#: W&B artifact type.
ARTIFACT_TYPE = "environment_configs"
_MAX_PROBLEMS = 50


class MetricLogger(Protocol):
    """Anything with ``log(metrics, step=...)`` (a W&B run, a TensorBoard adapter, a list collector)."""

    def log(self, data: dict[str, Any], step: int | None = ...) -> Any: ...


class ConfigTracker:
    """Records the env configs in play each epoch; see the module docstring."""

    def __init__(
        self,
        run: Any = None,
        *,
        logger: MetricLogger | None = None,
        save_interval: int = 10_000,
        debounce_epochs: int = 100,
        key_params: Mapping[str, str] | None = None,
        wandb_step: Literal["agent_step", "join"] = "agent_step",
        curriculum: str | None = None,
        artifact_name: str | None = None,
        history: ConfigHistory | None = None,
        rank: int | None = None,
    ) -> None:
        """``run``: a wandb run (metrics + artifacts) or ``None``; ``logger``: metrics only.

        ``wandb_step="agent_step"`` logs with ``step=agent_step`` (Metta's convention, so the metrics
        join the trainer's row of that step); ``"join"`` logs with ``commit=False`` into whatever row
        the trainer commits next. ``history``: a loaded history to continue (a resumed run).
        ``key_params``: ``{name: dotted-path pattern}``, see :class:`KeyParams`.
        """
        if save_interval < 1 or debounce_epochs < 0:
            raise InputError(f"save_interval must be >= 1 and debounce_epochs >= 0, got {save_interval} "
                             f"and {debounce_epochs}")
        if wandb_step not in ("agent_step", "join"):
            raise InputError(f"wandb_step must be 'agent_step' or 'join', got {wandb_step!r}")
        self.run, self.logger = run, logger
        self.save_interval, self.debounce_epochs, self.wandb_step = save_interval, debounce_epochs, wandb_step
        self.key_params = KeyParams(key_params)
        self.rank = process_rank() if rank is None else rank
        self.active = self.rank == 0
        self.history = history if history is not None else ConfigHistory()
        self.history.meta.setdefault("curriculum", curriculum)
        if curriculum is not None:
            self.history.meta["curriculum"] = curriculum
        self.history.meta["key_params"] = self.key_params.params
        run_id = getattr(run, "id", None)
        if run_id:
            self.history.meta["run_id"] = str(run_id)
        self.artifact_name = artifact_name or (f"env_configs-{run_id}" if run_id else "env_configs")
        self.uploads = 0
        self._params: dict[str, dict[str, float]] = {}
        self._state_metrics: dict[str, float] = {}
        self._last_upload: int | None = None
        self._pending = False
        self._dirty = False
        self._bad_probs: set[str] = set()

    @classmethod
    def from_trainer_config(cls, trainer_cfg: Any, run: Any = None, **kwargs: Any) -> ConfigTracker:
        """A tracker whose fallback interval is ``trainer.env_config_save_interval`` (default 10,000)."""
        from runlab.configpath import config_value

        interval = config_value(trainer_cfg if isinstance(trainer_cfg, Mapping) else vars(trainer_cfg),
                                "env_config_save_interval", 10_000)
        return cls(run, save_interval=int(interval), **kwargs)

    # -- per epoch ---------------------------------------------------------------------------
    def record(
        self,
        *,
        epoch: int,
        agent_step: int,
        envs: Iterable[tuple[str, Any]],
        task_probabilities: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """Record the ``(task, config)`` of every env in play; returns the metrics it logged."""
        if not self.active:
            return {}
        epoch, agent_step = int(epoch), int(agent_step)
        counts = self._count(envs)
        probs = self._probabilities(task_probabilities)
        entries = tuple(TaskEntry(t, h, n, probs.get(t)) for (t, h), n in sorted(counts.items()))
        previous = self.history.spans[-1] if self.history.spans else None
        opened = self.history.append(epoch, agent_step, entries)
        self._dirty = True
        if opened:
            changed = previous is None or {(t.task, t.config) for t in previous.tasks} != set(counts)
            resumed = previous is not None and epoch <= previous.last_epoch
            if resumed:
                log.warning("env-config tracker: epoch %d after epoch %d: recording a resumed segment",
                            epoch, previous.last_epoch)
                self._last_upload = None
            self._pending = self._pending or changed
            self._state_metrics = self._env_metrics(counts)
        metrics = dict(self._state_metrics)
        metrics.update({f"curriculum/task_prob/{t}": p for t, p in probs.items() if p is not None})
        self._emit(metrics, agent_step)
        self._maybe_upload(epoch)
        return metrics

    def _count(self, envs: Iterable[tuple[str, Any]]) -> Counter[tuple[str, str]]:
        """``(task, config hash) -> env count``; each config object is serialised once per call."""
        by_id: dict[int, str] = {}
        counts: Counter[tuple[str, str]] = Counter()
        for pair in envs:
            try:
                task, config = pair
            except (TypeError, ValueError):
                raise InputError(f"envs must be (task_name, config) pairs, got {pair!r:.80}") from None
            key = by_id.get(id(config))
            if key is None:
                key = self._hash(str(task), config)
                by_id[id(config)] = key
            counts[(str(task), key)] += 1
        return counts

    def _hash(self, task: str, config: Any) -> str:
        try:
            key, text = hash_config(config)
        except InputError as exc:
            raise InputError(f"task {task!r}: {exc.message}", hint=exc.hint) from None
        if key not in self._params:
            snapshot = json.loads(text)
            self.history.add_snapshot(key, snapshot)
            self._params[key] = self.key_params.numeric(snapshot)
        return key

    def _probabilities(self, given: Mapping[str, float] | None) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for task, p in (given or {}).items():
            value = finite_or_none(p)
            if value is None or value < 0:
                self._problem_once(str(task), p)
                value = None
            out[str(task)] = value
        return out

    def _problem_once(self, task: str, value: Any) -> None:
        if task in self._bad_probs:
            return
        self._bad_probs.add(task)
        problems = self.history.meta.setdefault("problems", [])
        if len(problems) < _MAX_PROBLEMS:
            problems.append(f"task {task!r}: probability {value!r} is not a finite non-negative number; "
                            "stored as null")
        log.warning("env-config tracker: task %r has probability %r; stored as null", task, value)

    def _env_metrics(self, counts: Counter[tuple[str, str]]) -> dict[str, float]:
        """Env-weighted means of the key parameters, and the in-play counts."""
        sums: dict[str, float] = {}
        weights: dict[str, int] = {}
        for (_, key), n in counts.items():
            for name, value in self._params[key].items():
                sums[name] = sums.get(name, 0.0) + n * value
                weights[name] = weights.get(name, 0) + n
        out = {f"env/{name}": sums[name] / weights[name] for name in sums}
        out["curriculum/num_tasks_in_play"] = float(len({t for t, _ in counts}))
        out["curriculum/num_unique_configs"] = float(len({h for _, h in counts}))
        return out

    def _emit(self, metrics: dict[str, float], agent_step: int) -> None:
        if self.logger is not None:
            self.logger.log(metrics, step=agent_step)
        if self.run is not None:
            if self.wandb_step == "agent_step":
                self.run.log(metrics, step=agent_step)
            else:
                self.run.log(metrics, commit=False)

    # -- artifacts ---------------------------------------------------------------------------
    def _maybe_upload(self, epoch: int) -> None:
        """First record, a config change once the debounce window has passed, or the fallback interval."""
        last = self._last_upload
        if (last is None or (self._pending and epoch - last >= self.debounce_epochs)
                or epoch - last >= self.save_interval):
            self._upload(epoch)

    def _upload(self, epoch: int) -> None:
        self._last_upload, self._pending, self._dirty = epoch, False, False
        if self.run is None:
            return
        import wandb

        data = self.to_json()
        path = Path(self.run.dir) / "artifacts" / self.artifact_name / HISTORY_FILE
        write_json(path, data)
        art = wandb.Artifact(self.artifact_name, type=ARTIFACT_TYPE, metadata=self.artifact_metadata())
        art.add_file(str(path), name=HISTORY_FILE)
        self.run.log_artifact(art)
        self.uploads += 1

    def artifact_metadata(self) -> dict[str, Any]:
        """The artifact's metadata: run id, curriculum, task counts, and the history's size."""
        meta = self.history.meta
        spans = self.history.spans
        return {"run_id": meta.get("run_id"), "curriculum": meta.get("curriculum"),
                "task_counts": meta.get("task_counts") or self.history.task_frequencies(),
                "format": "runlab.env_config_history/2", "num_snapshots": len(self.history.snapshots),
                "epochs_recorded": self.history.epochs_recorded, "num_spans": len(spans),
                "last_epoch": spans[-1].last_epoch if spans else None}

    def to_json(self) -> dict[str, Any]:
        """The history as the artifact's JSON (with the metadata folded into ``meta``)."""
        data = self.history.to_json()
        data["meta"] = {**self.history.meta, **self.artifact_metadata()}
        return data

    def save(self, path: Path | str) -> Path | None:
        """Write the history JSON to ``path`` (atomically); ``None`` on ranks other than 0."""
        if not self.active:
            return None
        return write_json(Path(path), self.to_json())

    def finish(self, *, metadata: Mapping[str, Any] | None = None) -> ConfigHistory:
        """Fold ``metadata`` (e.g. episode ``task_counts``) into the history and upload the final version."""
        if self.active:
            self.history.meta.update(metadata or {})
            if self._dirty or metadata:
                last = self.history.spans[-1].last_epoch if self.history.spans else 0
                self._upload(last)
        return self.history


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON through a temporary file and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return path
