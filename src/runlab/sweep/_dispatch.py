"""Dispatchers: where trials run. Each turns a :class:`TrialSpec` into a
``concurrent.futures.Future[TrialOutcome]``.

:class:`LocalDispatcher` runs a thread per running trial, each waiting on a subprocess of this
machine; :class:`RayDispatcher` runs a Ray task per trial on a cluster. Both satisfy the
:class:`Dispatcher` protocol, which is all the runner knows about them, so any other backend
(Slurm, Kubernetes...) is one class with three methods, checked by the shared suite in
:mod:`runlab.testing.sweep`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import subprocess
import threading
from typing import Any, Protocol, runtime_checkable

from runlab.errors import InputError, RunlabError
from runlab.sweep._trial import TrialOutcome, TrialSpec, execute_trial, failed_outcome


@runtime_checkable
class Dispatcher(Protocol):
    """Runs trials somewhere and hands back futures.

    ``submit`` starts a trial (or queues it) and returns at once; the future's result is the
    trial's :class:`TrialOutcome` (trainer failures are outcomes, not exceptions). ``abort`` stops
    every running trainer now and does not wait for them (an interrupted controller); ``close``
    releases the dispatcher once every future is done. After either, no more ``submit``.
    """

    def submit(self, spec: TrialSpec) -> cf.Future[TrialOutcome]: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


class LocalDispatcher:
    """Trials as subprocesses of this machine, at most ``parallel`` at once."""

    def __init__(self, parallel: int = 1) -> None:
        if parallel < 1:
            raise InputError(f"--parallel must be >= 1, got {parallel}")
        self._pool = cf.ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="runlab-trial")
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._aborted = False

    def submit(self, spec: TrialSpec) -> cf.Future[TrialOutcome]:
        return self._pool.submit(self._execute, spec)

    def _execute(self, spec: TrialSpec) -> TrialOutcome:
        procs: list[subprocess.Popen[bytes]] = []
        with self._lock:
            if self._aborted:
                return failed_outcome(spec, f"trial {spec.run_id}: aborted before it started")

        def keep(proc: subprocess.Popen[bytes]) -> None:
            # A trainer started while abort() runs is killed here: abort() may not have seen it.
            procs.append(proc)
            with self._lock:
                self._procs.add(proc)
                aborted = self._aborted
            if aborted:
                with contextlib.suppress(OSError):
                    proc.kill()

        try:
            return execute_trial(spec, on_start=keep)
        finally:
            with self._lock:
                self._procs.difference_update(procs)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Kill running trainers and stop (an interrupted controller must not wait for them);
        trials not started yet never start."""
        with self._lock:
            self._aborted = True
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
        self._refs: list[Any] = []
        self._closed = False

    def submit(self, spec: TrialSpec) -> cf.Future[TrialOutcome]:
        ref = self._remote.remote(spec)
        self._refs.append(ref)
        return ref.future()  # type: ignore[no-any-return]

    def close(self) -> None:
        if not self._closed and self._owns:
            self._ray.shutdown()
        self._closed = True

    def abort(self) -> None:
        """Force-cancel unfinished tasks (killing their workers, hence their trainers) and stop."""
        if self._closed:
            return
        for ref in self._refs:
            with contextlib.suppress(Exception):  # finished or already gone
                self._ray.cancel(ref, force=True)
        self._refs.clear()
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


BACKENDS = ("local", "ray")


def make_dispatcher(backend: str, *, parallel: int = 1, ray_address: str | None = None) -> Dispatcher:
    """The dispatcher a backend name stands for: ``local`` or ``ray``."""
    if backend == "local":
        return LocalDispatcher(parallel)
    if backend == "ray":
        return RayDispatcher(ray_address)
    raise InputError(f"--backend must be 'local' or 'ray', got {backend!r}")


__all__ = ["BACKENDS", "Dispatcher", "LocalDispatcher", "RayDispatcher", "make_dispatcher"]
