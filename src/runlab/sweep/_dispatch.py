"""Running one trial, here or on a Ray cluster.

:func:`execute_trial` is the whole job of a worker and needs no store: it writes the trial's
``train_config_overrides.yaml``, launches the training command with Hydra-style overrides
appended, and reads the objective back (``$RUNLAB_TRIAL_DIR/results.json``, else the last JSON
line the trainer printed, else the trainer's W&B run summary). It returns a
:class:`TrialOutcome`; the controller alone records observations. That split is what lets a
trial run on another machine (a Ray task) while the controller keeps the sweep store.

Dispatchers turn a :class:`TrialSpec` into a ``concurrent.futures.Future[TrialOutcome]``:
:class:`LocalDispatcher` (a thread per running trial, each waiting on a subprocess) and
:class:`RayDispatcher` (a Ray task per trial).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runlab.errors import InputError, RunlabError
from runlab.sweep._files import atomic_write_text, dump_yaml

OVERRIDES_FILE = "train_config_overrides.yaml"
RESULTS_FILE = "results.json"
EVAL_RESULTS_FILE = "sweep_eval_results.yaml"
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"


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
    summary_reader: Callable[[Path], dict[str, Any] | None] | None = None
    """Reads the W&B run summary a trainer left under its trial folder (e.g. by parsing offline
    ``run-*.wandb`` logs). A module-level function, so Ray can ship it. Without it only the
    ``wandb-summary.json`` files of online runs are read."""


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

    def to_yaml_dict(self) -> dict[str, Any]:
        """The content of ``sweep_eval_results.yaml``."""
        return {
            "run_id": self.run_id, "state": "success" if self.ok else "failure", "score": self.score,
            "cost": self.cost, "wall_s": self.wall_s, "exit_code": self.exit_code,
            "source": self.source, "error": self.error, "results": _plain(self.results),
        }


class Dispatcher(Protocol):
    """Runs trials somewhere and hands back futures."""

    def submit(self, spec: TrialSpec) -> cf.Future[TrialOutcome]: ...

    def close(self) -> None: ...


# -- overrides --------------------------------------------------------------------------------
def flatten(nested: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (the leaves of the parameter tree)."""
    out: dict[str, Any] = {}
    for key, value in nested.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def format_override_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back unchanged (floats keep full precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"override value must be finite, got {value!r}")
        text = repr(value)
        return text if any(c in text for c in ".en") else f"{text}.0"
    text = str(value)
    if text and all(c.isalnum() or c in "_-./:" for c in text) and text.lower() not in _YAML_WORDS:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_YAML_WORDS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off", "nan", "inf"})


def hydra_overrides(suggestion: dict[str, Any]) -> list[str]:
    """``trainer.optimizer.learning_rate=0.000731`` for every leaf of the suggestion."""
    return [f"{k}={format_override_value(v)}" for k, v in flatten(suggestion).items()]


# -- one trial --------------------------------------------------------------------------------
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
    exit_code, error = _run_command(spec, trial_dir, on_start)
    wall = time.monotonic() - start
    tail = _tail(trial_dir / STDOUT_FILE, trial_dir / STDERR_FILE)
    if error is not None:
        return _failed(spec, wall, exit_code, error, tail)
    if exit_code != 0:
        return _failed(spec, wall, exit_code, f"trial {spec.run_id}: training command exited with code "
                       f"{exit_code}", tail)
    found = read_objective(trial_dir, spec.metric, spec.summary_reader)
    if found is None:
        return _failed(spec, wall, exit_code, _no_result_message(spec), tail)
    source, results = found
    return _outcome_from_results(spec, wall, exit_code, source, results, tail)


def _outcome_from_results(
    spec: TrialSpec, wall: float, exit_code: int | None, source: str, results: dict[str, Any], tail: str
) -> TrialOutcome:
    key = spec.metric if spec.metric in results else "score"
    score = _as_float(results.get(key))
    cost = _as_float(results.get("cost"))
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
) -> tuple[int | None, str | None]:
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
            return None, f"trial {spec.run_id}: cannot start {argv[0]!r}: {exc.strerror or exc}"
        if on_start is not None:
            on_start(proc)
        try:
            return proc.wait(timeout=spec.timeout_s), None
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None, f"trial {spec.run_id}: training command timed out after {spec.timeout_s:g} s"
        except BaseException:
            proc.kill()
            proc.wait()
            raise


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


def read_objective(
    trial_dir: Path, metric: str, summary_reader: Callable[[Path], dict[str, Any] | None] | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """The trainer's report: ``results.json``, else the last JSON stdout line with the metric, else W&B."""
    path = trial_dir / RESULTS_FILE
    if path.exists():
        with contextlib.suppress(ValueError, OSError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return RESULTS_FILE, data
    line = _last_json_line(trial_dir / STDOUT_FILE, metric)
    if line is not None:
        return "stdout", line
    summary = _wandb_summary(trial_dir, metric)
    if summary is None and summary_reader is not None and (trial_dir / "wandb").is_dir():
        with contextlib.suppress(Exception):  # an unreadable log is "no result", reported as such
            summary = summary_reader(trial_dir)
        if summary is not None and metric not in summary and "score" not in summary:
            summary = None
    if summary is not None:
        return "wandb", summary
    return None


def _last_json_line(path: Path, metric: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    found: dict[str, Any] | None = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and (metric in data or "score" in data):
                    found = data
    return found


def _wandb_summary(trial_dir: Path, metric: str) -> dict[str, Any] | None:
    """The newest ``wandb-summary.json`` under ``<trial>/wandb`` holding the metric (online or offline)."""
    root = trial_dir / "wandb"
    if not root.is_dir():
        return None
    files = sorted(root.glob("*run-*/files/wandb-summary.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(files):
        with contextlib.suppress(ValueError, OSError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and (metric in data or "score" in data):
                return data
    return None


def _as_float(value: Any) -> float | None:
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


# -- dispatchers ------------------------------------------------------------------------------
class LocalDispatcher:
    """Trials as subprocesses of this machine, at most ``parallel`` at once."""

    def __init__(self, parallel: int = 1) -> None:
        if parallel < 1:
            raise InputError(f"--parallel must be >= 1, got {parallel}")
        self._pool = cf.ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="runlab-trial")
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def submit(self, spec: TrialSpec) -> cf.Future[TrialOutcome]:
        return self._pool.submit(self._execute, spec)

    def _execute(self, spec: TrialSpec) -> TrialOutcome:
        procs: list[subprocess.Popen[bytes]] = []

        def keep(proc: subprocess.Popen[bytes]) -> None:
            procs.append(proc)
            with self._lock:
                self._procs.add(proc)

        try:
            return execute_trial(spec, on_start=keep)
        finally:
            with self._lock:
                self._procs.difference_update(procs)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Kill running trainers and stop (an interrupted controller must not wait for them)."""
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            with contextlib.suppress(OSError):
                proc.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _execute_ray_task(spec: TrialSpec) -> TrialOutcome:
    """The body of a trial's Ray task: :func:`execute_trial`, plus which Ray task and node ran it."""
    import ray

    ctx = ray.get_runtime_context()
    outcome = execute_trial(spec)
    node_id = ctx.get_node_id()
    # The address the node registered with (``--node-ip-address``), not a guess from this host's interfaces.
    node_ip = next((str(n.get("NodeManagerAddress", "")) for n in ray.nodes() if n.get("NodeID") == node_id), "")
    where = {"job_id": ctx.get_job_id(), "task_id": ctx.get_task_id() or "", "node_id": node_id, "node_ip": node_ip}
    return dataclasses.replace(outcome, ray_task=where)


class RayDispatcher:
    """Trials as Ray tasks (``num_cpus`` each) on the cluster at ``address`` (``None``: start one here).

    A trial's task runs the training command on whichever node Ray picks, in the working directory
    and trial folder the spec names (absolute paths of the controller's machine), with that node's
    environment plus the trial's variables. A cluster whose nodes share the controller's filesystem
    (e.g. a head on this machine, or a shared mount) therefore needs nothing else.
    """

    def __init__(self, address: str | None = None, *, num_cpus: float = 1.0) -> None:
        import ray

        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError) as exc:
                raise _ray_connect_error(address, exc) from exc
        self._remote = ray.remote(num_cpus=num_cpus, max_retries=0)(_execute_ray_task)

    def submit(self, spec: TrialSpec) -> cf.Future[TrialOutcome]:
        return self._remote.remote(spec).future()  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._owns:
            self._ray.shutdown()

    def abort(self) -> None:
        """Cancel submitted tasks (force-killing their workers, hence their trainers) and stop."""
        self.close()


def _ray_connect_error(address: str | None, exc: BaseException) -> RunlabError:
    """Ray's own message buries the cause (a dead address, a missing token) in a chained traceback."""
    causes = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 4:
        text = str(cause).strip().splitlines()
        causes.append(text[-1].split(". ")[0][:300] if text else type(cause).__name__)
        cause = cause.__cause__
    auth = any("auth" in c.lower() for c in causes)
    hint = ("the cluster uses token authentication: set RAY_AUTH_MODE=token, with the cluster's token in "
            "~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN" if auth else
            "start a head with 'ray start --head --port=PORT' and pass --ray-address HOST:PORT (the head's "
            "GCS address), or leave --ray-address out to start a Ray instance here")
    return RunlabError(f"cannot connect to the Ray cluster at {address!r}: " + "; ".join(dict.fromkeys(causes)),
                       hint=hint)


def make_dispatcher(backend: str, *, parallel: int = 1, ray_address: str | None = None) -> Dispatcher:
    """``local`` or ``ray``."""
    if backend == "local":
        return LocalDispatcher(parallel)
    if backend == "ray":
        return RayDispatcher(ray_address)
    raise InputError(f"--backend must be 'local' or 'ray', got {backend!r}")


__all__ = [
    "EVAL_RESULTS_FILE",
    "OVERRIDES_FILE",
    "RESULTS_FILE",
    "Dispatcher",
    "LocalDispatcher",
    "RayDispatcher",
    "TrialOutcome",
    "TrialSpec",
    "execute_trial",
    "flatten",
    "format_override_value",
    "hydra_overrides",
    "make_dispatcher",
    "read_objective",
]
