"""Sweep runner: real subprocess trainers, objective sources, failures, retries, SIGKILL + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from runlab.sweep import (
    RunnerOptions,
    TooManyFailuresError,
    init_sweep,
    open_store,
    rebuild_optimizer,
    run_sweep,
    sweep_dir,
)

TRAINER = [sys.executable, str(Path(__file__).resolve().parents[1] / "examples" / "sweep_trainer.py")]
CONFIG = {
    "metric": "score", "goal": "maximize", "method": "random",
    "parameters": {
        "trainer": {"optimizer": {"learning_rate": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2,
                                                    "mean": 3e-4, "scale": "auto"}},
                    "batch_size": {"distribution": "uniform_pow2", "min": 16, "max": 128, "mean": 64}},
        "x": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5},
    },
}
FAST = {"heartbeat_s": 0.2, "stale_after_s": 30.0}


def _init(home: Path, name: str = "sw", **changes: object) -> None:
    init_sweep(home, name, {**CONFIG, **changes})


def _trials(home: Path, name: str = "sw") -> list:
    with open_store(home, name) as st:
        return st.trials(name)


def test_local_run_records_trials_and_writes_trial_folders(tmp_path: Path) -> None:
    _init(tmp_path)
    events: list[tuple[str, str]] = []
    report = run_sweep(tmp_path, "sw", [*TRAINER, "--report", "stdout"],
                       options=RunnerOptions(max_trials=4, parallel=2, seed=3, **FAST),
                       on_event=lambda e, t, m: events.append((e, t.run_id if t else "")))
    trials = _trials(tmp_path)
    assert sorted(report.successes) == [f"sw.r.{i}" for i in range(4)]
    assert [t.state for t in trials] == ["success"] * 4
    root = sweep_dir(tmp_path, "sw")
    assert yaml.safe_load((root / "config.yaml").read_text())["parameters"] == CONFIG["parameters"]
    for t in trials:
        folder = root / "runs" / t.run_id
        given = yaml.safe_load((folder / "train_config_overrides.yaml").read_text())
        assert given == t.suggestion
        assert type(given["trainer"]["batch_size"]) is int and type(given["x"]) is float
        back = yaml.safe_load((folder / "sweep_eval_results.yaml").read_text())
        assert (back["state"], back["score"], back["source"]) == ("success", t.score, "stdout")
        printed = (folder / "stdout.log").read_text()
        assert json.loads(printed.strip().splitlines()[-1])["score"] == pytest.approx(t.score)
        assert f"trained {t.run_id} with" in printed  # RUNLAB_SWEEP_RUN_ID reached the trainer
        assert t.cost == pytest.approx(1 + sum(abs(v) for v in (given["trainer"]["optimizer"]["learning_rate"],
                                                                given["trainer"]["batch_size"], given["x"])))
    assert [e for e, _ in events].count("started") == 4
    assert all(t.results["_worker_pid"] == os.getpid() for t in trials)  # local: threads of this process
    # the optimiser rebuilt from the store has seen every observation
    opt = rebuild_optimizer(CONFIG, trials, seed=0)
    assert len(opt.successes) == 4 and opt.pending == []


def test_results_file_from_report_result(tmp_path: Path) -> None:
    _init(tmp_path, metric="reward", goal="minimize")
    run_sweep(tmp_path, "sw", [*TRAINER, "--report", "results", "--score", "-1.5"],
              options=RunnerOptions(max_trials=1, **FAST))
    (t,) = _trials(tmp_path)
    assert (t.state, t.score, t.results["_source"]) == ("success", -1.5, "results.json")
    assert t.results["params"]["x"] == t.suggestion["x"]


@pytest.mark.parametrize(("args", "message"), [
    (["--report", "stdout", "--score", "nan"], r"objective 'score' from stdout must be a finite number, got nan"),
    (["--report", "none"], r"reported no objective 'score'.*results\.json"),
    (["--report", "stdout", "--exit", "4"], r"exited with code 4"),
])
def test_bad_trials_fail_clearly_and_keep_earlier_observations(tmp_path: Path, args: list[str],
                                                               message: str) -> None:
    _init(tmp_path)
    run_sweep(tmp_path, "sw", [*TRAINER, "--report", "stdout"], options=RunnerOptions(max_trials=1, **FAST))
    before = _trials(tmp_path)
    with pytest.raises(TooManyFailuresError, match="3 consecutive failed trials") as err:
        run_sweep(tmp_path, "sw", [*TRAINER, *args], options=RunnerOptions(max_trials=10, **FAST))
    trials = _trials(tmp_path)
    assert trials[0] == before[0]  # the earlier observation is intact
    assert [t.state for t in trials] == ["success", "failure", "failure", "failure"]
    for t in trials[1:]:
        assert t.score is None and t.run_id in t.error
        assert __import__("re").search(message, t.error)
    assert "sw.r.3" in err.value.message and err.value.hint
    assert len(err.value.report.failures) == 3


def test_retries_rerun_the_same_trial(tmp_path: Path) -> None:
    _init(tmp_path)
    report = run_sweep(tmp_path, "sw", [*TRAINER, "--report", "stdout", "--fail-attempts", "1"],
                       options=RunnerOptions(max_trials=2, retries=1, **FAST))
    trials = _trials(tmp_path)
    assert [(t.state, t.attempts) for t in trials] == [("success", 2), ("success", 2)]
    assert report.failures == []


def test_trial_timeout_is_a_failure(tmp_path: Path) -> None:
    _init(tmp_path)
    with pytest.raises(TooManyFailuresError):
        run_sweep(tmp_path, "sw", [*TRAINER, "--report", "stdout", "--sleep", "30"],
                  options=RunnerOptions(max_trials=5, max_consecutive_failures=1, trial_timeout_s=0.5, **FAST))
    (t,) = _trials(tmp_path)
    assert t.state == "failure" and "timed out after 0.5 s" in t.error


def test_protein_method_runs_end_to_end(tmp_path: Path) -> None:
    _init(tmp_path, method="bayes", protein={"num_random_samples": 2, "random_suggestions": 64,
                                             "suggestions_per_pareto": 16})
    run_sweep(tmp_path, "sw", [*TRAINER, "--report", "stdout"], options=RunnerOptions(max_trials=4, seed=0, **FAST))
    trials = _trials(tmp_path)
    assert [t.state for t in trials] == ["success"] * 4
    assert len({json.dumps(t.suggestion, sort_keys=True) for t in trials}) == 4


CONTROLLER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from runlab.sweep import RunnerOptions, run_sweep
    home, trainer = Path(sys.argv[1]), sys.argv[2:]
    run_sweep(home, "sw", trainer, options=RunnerOptions(max_trials=6, parallel=2, heartbeat_s=0.2,
                                                         stale_after_s=60.0, seed=1))
""")


def test_sigkill_loses_no_observation_and_restart_resumes(tmp_path: Path) -> None:
    _init(tmp_path)
    trainer = [*TRAINER, "--report", "stdout", "--sleep", "0.8"]
    proc = subprocess.Popen([sys.executable, "-c", CONTROLLER, str(tmp_path), *trainer])
    deadline = time.monotonic() + 120
    while sum(t.state == "success" for t in _trials(tmp_path)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "controller ended early"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = {t.run_id: t for t in _trials(tmp_path)}
    recorded = {rid: t for rid, t in killed.items() if t.state == "success"}
    assert any(t.state == "running" for t in killed.values())  # trials were cut off mid-flight
    report = run_sweep(tmp_path, "sw", trainer, options=RunnerOptions(max_trials=6, parallel=2, seed=1, **FAST))
    after = _trials(tmp_path)
    assert [t.run_id for t in after] == [f"sw.r.{i}" for i in range(6)]
    assert all(t.state == "success" for t in after)
    for rid, t in recorded.items():  # nothing recorded before the kill changed
        assert next(a for a in after if a.run_id == rid) == t
    cut = {rid for rid, t in killed.items() if t.state == "running"}
    assert cut <= set(report.resumed)
    assert all(next(a for a in after if a.run_id == rid).attempts == 2 for rid in cut)


@pytest.mark.slow
def test_ray_backend_runs_trials_as_ray_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ray instance of its own (``address='local'``): ``ray stop`` would also end other users' Ray."""
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    _init(tmp_path)
    report = run_sweep(tmp_path, "sw", [*TRAINER, "--report", "stdout"],
                       options=RunnerOptions(max_trials=2, backend="ray", ray_address="local", **FAST))
    assert not ray.is_initialized()  # the dispatcher shut down the Ray it started
    assert sorted(report.successes) == ["sw.r.0", "sw.r.1"]
    trials = _trials(tmp_path)
    assert [t.state for t in trials] == ["success", "success"]
    assert all(t.results["_worker_pid"] != os.getpid() for t in trials)  # ran in Ray worker processes
    assert len({t.results["_ray_task"]["task_id"] for t in trials}) == 2  # one Ray task per trial


class ListOptimizer:
    """An optimiser by the protocol alone (no SweepOptimizer base): fixed points, in order."""

    def __init__(self, points: list[dict]) -> None:
        self.points = list(points)
        self.observed: list[tuple[dict, float | None, bool]] = []
        self.pending: list[dict] = []

    def suggest(self) -> tuple[dict, dict]:
        return self.points.pop(0), {"phase": "list"}

    def observe(self, suggestion, score=None, cost=1.0, is_failure=False) -> object:
        self.observed.append((suggestion, score, is_failure))
        return None

    def mark_pending(self, suggestion) -> None:
        self.pending.append(suggestion)


class RecordingDispatcher:
    """A dispatcher by the protocol: local processes, plus a record of what the runner asked."""

    def __init__(self, interrupt_on: int | None = None) -> None:
        from runlab.sweep import LocalDispatcher

        self.inner = LocalDispatcher(2)
        self.specs: list = []
        self.calls: list[str] = []
        self.interrupt_on = interrupt_on

    def submit(self, spec):
        if self.interrupt_on is not None and len(self.specs) == self.interrupt_on:
            raise KeyboardInterrupt
        self.specs.append(spec)
        return self.inner.submit(spec)

    def abort(self) -> None:
        self.calls.append("abort")
        self.inner.abort()

    def close(self) -> None:
        self.calls.append("close")
        self.inner.close()


def _point(x: float) -> dict:
    return {"trainer": {"optimizer": {"learning_rate": 1e-3}, "batch_size": 32}, "x": x}


def test_an_injected_optimizer_and_dispatcher_run_the_sweep(tmp_path: Path) -> None:
    from runlab.sweep import Dispatcher, Optimizer, SweepRunner

    _init(tmp_path)
    opt, dispatcher = ListOptimizer([_point(0.1), _point(0.2), _point(0.3)]), RecordingDispatcher()
    assert isinstance(opt, Optimizer) and isinstance(dispatcher, Dispatcher)
    with open_store(tmp_path, "sw") as store:
        report = SweepRunner(store, opt, dispatcher, name="sw", command=[*TRAINER, "--report", "stdout"],
                             root=sweep_dir(tmp_path, "sw"), options=RunnerOptions(max_trials=3, parallel=2, **FAST)
                             ).run()
        trials = store.trials("sw")
    assert sorted(report.successes) == ["sw.r.0", "sw.r.1", "sw.r.2"]
    assert [t.suggestion["x"] for t in trials] == [0.1, 0.2, 0.3]
    assert [s.run_id for s in dispatcher.specs] == ["sw.r.0", "sw.r.1", "sw.r.2"] and dispatcher.calls == ["close"]
    assert sorted(s["x"] for s, _score, _f in opt.observed) == [0.1, 0.2, 0.3]
    assert {s["x"]: score for s, score, _f in opt.observed} == {t.suggestion["x"]: t.score for t in trials}


def test_an_interrupted_runner_aborts_its_dispatcher_and_releases_trials(tmp_path: Path) -> None:
    from runlab.sweep import SweepRunner

    _init(tmp_path)
    dispatcher = RecordingDispatcher(interrupt_on=1)
    with open_store(tmp_path, "sw") as store:
        runner = SweepRunner(store, ListOptimizer([_point(0.1), _point(0.2)]), dispatcher, name="sw",
                             command=[*TRAINER, "--report", "stdout", "--sleep", "30"],
                             root=sweep_dir(tmp_path, "sw"), options=RunnerOptions(max_trials=2, parallel=2, **FAST))
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            runner.run()
        assert time.monotonic() - t0 < 20  # the running 30 s trainer was killed, not waited for
        states = [t.state for t in store.trials("sw")]
    assert dispatcher.calls == ["abort"]
    assert states == ["stale", "stale"]  # resumable by the next controller
