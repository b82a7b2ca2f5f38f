"""Running one trial to completion: the whole job of a worker, wherever it runs.

:func:`execute_trial` needs no store: it writes the trial's ``train_config_overrides.yaml``,
launches the training command with the Hydra-style overrides appended, and reads the objective
back through the :mod:`objective sources <runlab.sweep._objective>`. It returns a
:class:`TrialOutcome`; the controller alone records observations. That split is what lets a
trial run on another machine (a Ray task) while the controller keeps the sweep store.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runlab.sweep._files import atomic_write_text, dump_yaml
from runlab.sweep._objective import (
    DEFAULT_SOURCES,
    RESULTS_FILE,
    STDERR_FILE,
    STDOUT_FILE,
    ObjectiveSource,
    read_objective,
)
from runlab.sweep._pruning import ProgressReader, PruneDecision, PruningSpec

log = logging.getLogger(__name__)

OVERRIDES_FILE = "train_config_overrides.yaml"
EVAL_RESULTS_FILE = "sweep_eval_results.yaml"


@dataclass(frozen=True, kw_only=True)
class TrialSpec:
    """Everything a worker needs to run one trial (picklable, so Ray can ship it)."""

    run_id: str
    """``<sweep>.r.<N>``; also given to the trainer as ``RUNLAB_SWEEP_RUN_ID``."""
    sweep: str
    command: list[str]
    """The training command; ``overrides`` are appended to it."""
    overrides: list[str]
    """Hydra-style ``dotted.key=value`` overrides."""
    suggestion: dict[str, Any]
    """The nested suggestion, written to ``train_config_overrides.yaml``."""
    trial_dir: str
    """``<sweep dir>/runs/<run_id>``; given to the trainer as ``RUNLAB_TRIAL_DIR``."""
    metric: str
    """Objective key in the results (``score`` is accepted too)."""
    timeout_s: float | None = None
    """Kill the trainer after this many seconds (``None``: no limit)."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables for the trainer."""
    cwd: str | None = None
    """Working directory of the trainer (default: the controller's)."""
    objective_sources: tuple[ObjectiveSource, ...] = DEFAULT_SOURCES
    """Where the objective is read from, in order (module-level objects, so Ray can ship them)."""
    pruning: PruningSpec | None = None
    """Watch the trainer's progress lines and stop it once the pruner calls it hopeless."""


@dataclass(frozen=True, kw_only=True)
class TrialOutcome:
    """What came back from one attempt of a trial."""

    run_id: str
    ok: bool
    """True when the trainer exited 0 and reported a finite objective."""
    score: float | None
    cost: float
    """The reported ``cost``, else the wall time."""
    wall_s: float
    exit_code: int | None
    """``None`` when the trainer could not be started or was killed on timeout."""
    source: str | None
    """Where the objective came from: ``results.json``, ``stdout`` or ``wandb``."""
    results: dict[str, Any]
    error: str | None
    log_tail: str = ""
    """The last lines of the trainer's output, for error reports."""
    worker_pid: int = field(default_factory=os.getpid)
    """Process that ran the trial (a Ray worker's pid for the Ray backend)."""
    ray_task: dict[str, str] = field(default_factory=dict)
    """``job_id``, ``task_id``, ``node_id`` and ``node_ip`` of the Ray task that ran the trial
    (empty for other backends): where to look when a trial misbehaves on a cluster."""
    pruned: PruneDecision | None = None
    """Set when the pruner stopped the trainer: ``ok`` is False and ``score`` is None, the
    decision holds the predicted final value."""

    def to_yaml_dict(self) -> dict[str, Any]:
        """The content of ``sweep_eval_results.yaml``."""
        state = "pruned" if self.pruned is not None else "success" if self.ok else "failure"
        extra = {} if self.pruned is None else {
            "predicted_final": self.pruned.predicted_mean, "predicted_std": self.pruned.predicted_std,
            "progress_points": self.pruned.steps, "last_step": self.pruned.last_step}
        return {
            **extra, "run_id": self.run_id, "state": state, "score": self.score,
            "cost": self.cost, "wall_s": self.wall_s, "exit_code": self.exit_code,
            "source": self.source, "error": self.error, "results": _plain(self.results),
        }


def failed_outcome(spec: TrialSpec, error: str) -> TrialOutcome:
    """The outcome of a trial whose worker itself failed (e.g. a Ray worker died)."""
    return TrialOutcome(run_id=spec.run_id, ok=False, score=None, cost=0.0, wall_s=0.0, exit_code=None,
                        source=None, results={}, error=error)


def execute_trial(spec: TrialSpec, *, on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
                  ) -> TrialOutcome:
    """Run one attempt of a trial to completion and read its objective. Never raises for trainer errors.

    ``on_start`` receives the trainer process (the local dispatcher keeps it to stop it on abort).
    """
    trial_dir = Path(spec.trial_dir)
    trial_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(trial_dir / OVERRIDES_FILE, dump_yaml(spec.suggestion))
    (trial_dir / RESULTS_FILE).unlink(missing_ok=True)  # a retry must not read the last attempt's result
    start = time.monotonic()
    exit_code, error, pruned = _run_command(spec, trial_dir, on_start)
    wall = time.monotonic() - start
    tail = _tail(trial_dir / STDOUT_FILE, trial_dir / STDERR_FILE)
    if pruned is not None:
        return TrialOutcome(run_id=spec.run_id, ok=False, score=None, cost=wall, wall_s=wall, exit_code=None,
                            source=None, results={}, error=None, log_tail=tail, pruned=pruned)
    if error is not None:
        return _failed(spec, wall, exit_code, error, tail)
    if exit_code != 0:
        return _failed(spec, wall, exit_code, f"trial {spec.run_id}: training command exited with code "
                       f"{exit_code}", tail)
    found = read_objective(trial_dir, spec.metric, spec.objective_sources)
    if found is None:
        return _failed(spec, wall, exit_code, _no_result_message(spec), tail)
    source, results = found
    return _outcome_from_results(spec, wall, exit_code, source, results, tail)


def _outcome_from_results(
    spec: TrialSpec, wall: float, exit_code: int | None, source: str, results: dict[str, Any], tail: str
) -> TrialOutcome:
    key = spec.metric if spec.metric in results else "score"
    score = as_float(results.get(key))
    cost = as_float(results.get("cost"))
    cost = cost if cost is not None and math.isfinite(cost) and cost > 0 else wall
    if score is None or not math.isfinite(score):
        error = (f"trial {spec.run_id}: objective {key!r} from {source} must be a finite number, "
                 f"got {results.get(key)!r}")
        return TrialOutcome(run_id=spec.run_id, ok=False, score=None, cost=cost, wall_s=wall,
                            exit_code=exit_code, source=source, results=results, error=error, log_tail=tail)
    return TrialOutcome(run_id=spec.run_id, ok=True, score=score, cost=cost, wall_s=wall,
                        exit_code=exit_code, source=source, results=results, error=None, log_tail=tail)


def _failed(spec: TrialSpec, wall: float, exit_code: int | None, error: str, tail: str) -> TrialOutcome:
    return TrialOutcome(run_id=spec.run_id, ok=False, score=None, cost=wall, wall_s=wall,
                        exit_code=exit_code, source=None, results={}, error=error, log_tail=tail)


def _no_result_message(spec: TrialSpec) -> str:
    return (f"trial {spec.run_id}: the trainer exited 0 but reported no objective {spec.metric!r}: "
            f"expected $RUNLAB_TRIAL_DIR/{RESULTS_FILE} with key {spec.metric!r} (or 'score'), a JSON "
            f"line on stdout with that key, or a W&B run (WANDB_DIR=$RUNLAB_TRIAL_DIR) whose summary has it")


def _run_command(
    spec: TrialSpec, trial_dir: Path, on_start: Callable[[subprocess.Popen[bytes]], None] | None
) -> tuple[int | None, str | None, PruneDecision | None]:
    env = {**os.environ, **spec.env, "RUNLAB_SWEEP_RUN_ID": spec.run_id, "RUNLAB_SWEEP_NAME": spec.sweep,
           "RUNLAB_TRIAL_DIR": str(trial_dir), "RUNLAB_SWEEP_OVERRIDES": str(trial_dir / OVERRIDES_FILE)}
    env.setdefault("WANDB_DIR", str(trial_dir))
    env.setdefault("WANDB_NAME", spec.run_id)
    env.setdefault("WANDB_RUN_GROUP", spec.sweep)
    argv = [*spec.command, *spec.overrides]
    with open(trial_dir / STDOUT_FILE, "wb") as out, open(trial_dir / STDERR_FILE, "wb") as err:
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                    cwd=spec.cwd, preexec_fn=_die_with_parent)
        except OSError as exc:
            return None, f"trial {spec.run_id}: cannot start {argv[0]!r}: {exc.strerror or exc}", None
        if on_start is not None:
            on_start(proc)
        try:
            if spec.pruning is None:
                return proc.wait(timeout=spec.timeout_s), None, None
            return _wait_watching(proc, spec, spec.pruning, trial_dir / STDOUT_FILE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None, f"trial {spec.run_id}: training command timed out after {spec.timeout_s:g} s", None
        except BaseException:
            proc.kill()
            proc.wait()
            raise


def _wait_watching(proc: subprocess.Popen[bytes], spec: TrialSpec, pruning: PruningSpec, stdout: Path,
                   ) -> tuple[int | None, str | None, PruneDecision | None]:
    """Wait for the trainer, asking the pruner after each batch of new progress points.

    A pruner that raises is reported once in the log and not asked again: the trial then runs to
    the end like an unwatched one (losing the training is worse than losing the early stop).
    """
    deadline = None if spec.timeout_s is None else time.monotonic() + spec.timeout_s
    reader = ProgressReader(stdout, pruning.metric, pruning.step_key)
    watching = True
    while True:
        wait = pruning.poll_s if deadline is None else max(0.0, min(pruning.poll_s, deadline - time.monotonic()))
        try:
            return proc.wait(timeout=wait), None, None
        except subprocess.TimeoutExpired:
            if deadline is not None and time.monotonic() >= deadline:
                raise
        if not (watching and reader.poll()):
            continue
        try:
            decision = _decide(spec, pruning, reader)
        except Exception as exc:  # a broken model must not kill the training it watches
            log.warning("trial %s: pruner failed, the trial runs to the end: %s", spec.run_id, exc)
            watching = False
            continue
        if decision is not None:
            proc.kill()
            proc.wait()
            return None, None, decision


def _decide(spec: TrialSpec, pruning: PruningSpec, reader: ProgressReader) -> PruneDecision | None:
    steps, values = list(reader.steps), list(reader.values)
    if not pruning.pruner.should_prune(spec.suggestion, steps, values, pruning.best, pruning.direction):
        return None
    mean, std = pruning.pruner.predicted_final(spec.suggestion, steps, values)
    if not math.isfinite(mean):  # no usable stand-in score: let it run rather than record nonsense
        return None
    std = float(std) if math.isfinite(std) else float("nan")
    return PruneDecision(steps=len(steps), last_step=steps[-1], predicted_mean=float(mean),
                         predicted_std=float(std))


def _load_libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded once in the parent: the child between fork and exec must not touch the dynamic loader.
_LIBC = _load_libc()


def _die_with_parent() -> None:
    """Linux: the trainer gets SIGKILL when its controller dies, so a killed sweep leaves no orphans."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def as_float(value: Any) -> float | None:
    """A logged number as a float; None for booleans, None and text that is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _tail(*paths: Path, lines: int = 20) -> str:
    chunks = []
    for path in paths:
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as fh:
                last = deque(fh, maxlen=lines)
            if last:
                chunks.append("".join(last).rstrip())
    return "\n".join(chunks)[-4000:]


def _plain(value: Any) -> Any:
    """JSON/YAML-safe copy: numpy scalars and other oddities become plain values or strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item"):
        with contextlib.suppress(Exception):
            return value.item()
    return str(value)


__all__ = [
    "EVAL_RESULTS_FILE",
    "OVERRIDES_FILE",
    "TrialOutcome",
    "TrialSpec",
    "execute_trial",
    "failed_outcome",
]
