"""``runlab sweep run --backend ray`` against a real Ray head: a separate ``ray start --head`` on 127.0.0.1.

The head is this test's own: its own process group, temp dir, ports and auth token. It is
stopped by signalling that process group only; ``ray stop`` would end every Ray on the machine.
The head runs in another working directory than the controller, so the relative trainer path and
the relative ``RUNLAB_HOME`` only work if the runner hands absolute paths and its working
directory to the Ray workers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runlab.sweep import Dispatcher, RayDispatcher, init_sweep, open_store, sweep_dir
from runlab.testing.sweep import DispatcherSuite

REPO = Path(__file__).resolve().parents[1]
RUNLAB = [sys.executable, "-c", "from runlab.cli.app import main; main()"]
CONFIG = {
    "metric": "score", "goal": "maximize", "method": "random",
    "parameters": {
        "trainer": {"optimizer": {"learning_rate": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2,
                                                    "mean": 3e-4, "scale": "auto"}}},
        "x": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5},
    },
}
HEAD_READY = "Ray runtime started"


@dataclass(frozen=True)
class RayHead:
    """A running head: ``address`` for ``--ray-address``, the token its clients need, its files."""

    proc: subprocess.Popen[bytes]
    address: str
    token: str
    temp_dir: Path

    def client_env(self, **extra: str) -> dict[str, str]:
        """Environment of a driver allowed onto this head (token auth, no usage stats)."""
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        return {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                "RAY_USAGE_STATS_ENABLED": "0", **extra}

    def worker_log_pids(self) -> set[int]:
        """Pids of the worker processes this head started (from its ``worker-<id>-<job>-<pid>`` logs)."""
        logs = self.temp_dir / "session_latest" / "logs"
        return {int(p.stem.rsplit("-", 1)[-1]) for p in logs.glob("worker-*-*-*.out")
                if p.stem.rsplit("-", 1)[-1].isdigit()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _live_members(pgid: int) -> list[int]:
    """Processes of a process group that are not zombies (this machine's init may not reap them)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def _is_local_address(host: str) -> bool:
    """Whether ``host`` is an address of this machine (binding to it succeeds only then)."""
    try:
        with socket.socket() as sock:
            sock.bind((host, 0))
    except OSError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(head: subprocess.Popen[bytes], grace_s: float = 2.0) -> None:
    """SIGTERM the head's process group (the raylet ends its workers), SIGKILL what is left after ``grace_s``.

    The ``ray start`` process itself lingers on SIGTERM (it tries to drain the node through the GCS it
    just stopped), so the grace is short.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        head.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)
    head.wait()


@contextlib.contextmanager
def ray_head(num_cpus: int = 2, timeout_s: float = 45.0) -> Iterator[RayHead]:
    """``ray start --head --block`` on 127.0.0.1 in its own process group; stopped and removed on exit.

    Every port is chosen here so the head cannot collide with another Ray on the machine (the
    dashboard agent and dashboard have fixed defaults), and the temp dir is short because Ray's
    Unix socket paths must fit in 107 bytes.
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="rlray", dir="/tmp"))
    port, token = _free_port(), secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # Workers run `python` from this interpreter's environment, as a head started in the venv would.
    env.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
               RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0")
    ports = {f"--{name}-port": str(_free_port()) for name in (
        "dashboard", "dashboard-agent-listen", "dashboard-agent-grpc", "runtime-env-agent",
        "metrics-export", "node-manager", "object-manager")}
    argv = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--node-ip-address=127.0.0.1",
            f"--port={port}", f"--num-cpus={num_cpus}", "--include-dashboard=false", "--disable-usage-stats",
            f"--temp-dir={temp_dir}", "--block", *(f"{k}={v}" for k, v in ports.items())]
    log, cwd = temp_dir / "head.log", temp_dir / "cwd"  # a cwd deeper than the repo: relative paths differ
    cwd.mkdir()
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while HEAD_READY not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Ray head did not start (exit code {proc.poll()}):\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield RayHead(proc=proc, address=f"127.0.0.1:{port}", token=token, temp_dir=temp_dir)
    finally:
        _stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _run_cli(args: list[str], env: dict[str, str], timeout_s: float = 90.0) -> tuple[int, int, str]:
    """Run ``runlab ARGS`` from the repository root; (pid, exit code, stdout + stderr)."""
    proc = subprocess.Popen([*RUNLAB, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"runlab {' '.join(args)} did not finish in {timeout_s:g} s:\n{out.decode(errors='replace')}")
    return proc.pid, proc.returncode, out.decode(errors="replace")


@pytest.mark.slow
class TestRayDispatcher(DispatcherSuite):
    """The shared dispatcher suite on a Ray instance of its own (``address='local'``, 2 CPUs)."""

    start_timeout_s = 120.0

    @pytest.fixture
    def make_dispatcher(self, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Dispatcher]:
        pytest.importorskip("ray")
        monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        return lambda _parallel: RayDispatcher("local")


@pytest.mark.slow
def test_cli_sweep_dispatches_trials_as_tasks_of_a_ray_head(tmp_path: Path) -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install ray) so the Ray backend cannot be tested")
    home = tmp_path / "home"
    init_sweep(home, "rs", CONFIG)
    trainer = ["--", "python", "examples/sweep_trainer.py", "--report", "results"]  # relative to the repo
    with ray_head() as head:
        run = ["sweep", "run", "rs", "--backend", "ray", "--ray-address", head.address, "--seed", "5"]
        # A home relative to the controller's directory: trial folders must still land there.
        env = head.client_env(RUNLAB_HOME=os.path.relpath(home, REPO))
        pid, code, out = _run_cli([*run, "--max-trials", "3", *trainer], env)
        assert code == 0, out
        assert "3 succeeded, 0 failed" in out

        with open_store(home, "rs") as store:
            trials = store.trials("rs")
        assert [(t.run_id, t.state) for t in trials] == [(f"rs.r.{i}", "success") for i in range(3)]
        tasks = [t.results["_ray_task"] for t in trials]
        assert len({task["task_id"] for task in tasks}) == 3 and all(task["task_id"] for task in tasks)
        assert all(_is_local_address(task["node_ip"]) for task in tasks), tasks  # Ray names 127.0.0.1 by its IP
        assert len({task["node_id"] for task in tasks}) == 1 and len({task["job_id"] for task in tasks}) == 1
        workers = {t.results["_worker_pid"] for t in trials}
        assert pid not in workers
        assert workers <= head.worker_log_pids()  # the workers are this head's
        for trial in trials:  # the store holds what each trainer wrote in its trial folder
            folder = sweep_dir(home, "rs") / "runs" / trial.run_id
            reported = json.loads((folder / "results.json").read_text())
            assert trial.score == reported["score"] and trial.cost == reported["cost"]
            assert reported["params"]["x"] == trial.suggestion["x"]
            assert f"trained {trial.run_id} with" in (folder / "stdout.log").read_text()

        # A driver without the head's token gets a clear error, and the observations stay as they were.
        bad_env = head.client_env(RUNLAB_HOME=str(home), RAY_AUTH_TOKEN=secrets.token_hex(32),
                                  RAY_gcs_server_port_wait_time_s="1")
        _, code, out = _run_cli([*run, "--max-trials", "4", *trainer], bad_env)
        assert code == 1 and "Traceback" not in out, out
        message = " ".join(out.split())  # the console wraps long lines
        assert f"cannot connect to the Ray cluster at '{head.address}'" in message, out
        assert "InvalidAuthToken" in message and "set RAY_AUTH_MODE=token" in message, out
        with open_store(home, "rs") as store:
            assert store.trials("rs") == trials

    deadline = time.monotonic() + 15.0
    while (_live_members(head.proc.pid) or any(map(_alive, workers))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _live_members(head.proc.pid)  # the head's process group is gone
    assert not any(map(_alive, workers))  # and its workers (sessions of their own) followed the raylet
    assert not head.temp_dir.exists()
