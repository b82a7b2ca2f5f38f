"""Two controllers on one sweep: the total budget holds, run ids never collide, both contribute.

Each controller is a separate process running :func:`runlab.sweep.run_sweep` with real
subprocess trainers, on the default SQLite store and on a PostgreSQL store shared by URL (the
way controllers on several machines share one sweep).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from runlab.sweep import RunnerOptions, init_sweep, open_store, run_sweep, sweep_dir
from test_sweep_store import new_database, postgres_server  # noqa: F401  (the session fixture)

TRAINER = [sys.executable, str(Path(__file__).resolve().parents[1] / "examples" / "sweep_trainer.py")]
CONFIG = {
    "metric": "score", "goal": "maximize", "method": "random",
    "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5},
                   "lr": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2, "mean": 3e-4}},
}


def _controller(home: str, url: str | None, max_trials: int, parallel: int, seed: int, barrier: Any,
                queue: mp.Queue) -> None:
    """One controller process: wait for the other, then run the sweep to its total."""
    options = RunnerOptions(max_trials=max_trials, parallel=parallel, seed=seed, heartbeat_s=0.2,
                            stale_after_s=60.0)
    barrier.wait(timeout=120)
    report = run_sweep(Path(home), "shared", [*TRAINER, "--report", "stdout", "--sleep", "0.3"],
                       options=options, store_url=url)
    queue.put((sorted(report.successes), sorted(report.failures), report.stopped_reason))


def _run_two_controllers(home: Path, url: str | None, *, max_trials: int, parallel: int) -> list[tuple]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    barrier = ctx.Barrier(2)  # both controllers start filling slots at the same moment
    procs = [ctx.Process(target=_controller, args=(str(home), url, max_trials, parallel, seed, barrier, queue))
             for seed in (1, 2)]
    for p in procs:
        p.start()
    reports = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return reports


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (the default SQLite store in the sweep folder) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return new_database(request.getfixturevalue("postgres_server"))


def test_two_controllers_share_one_budget(tmp_path: Path, shared_url: str | None) -> None:
    init_sweep(tmp_path, "shared", CONFIG, store_url=shared_url)
    # 2 x 3 slots against 8 trials: both controllers race for the first slots and for the last.
    reports = _run_two_controllers(tmp_path, shared_url, max_trials=8, parallel=3)
    with open_store(tmp_path, "shared", shared_url) as store:
        trials = store.trials("shared")
        assert store.get_sweep("shared").num_allocated == 8
    assert [t.run_id for t in trials] == [f"shared.r.{i}" for i in range(8)]
    assert all(t.state == "success" and t.score is not None and t.attempts == 1 for t in trials)
    # every trial was run and observed by exactly one controller
    mine = [set(successes) for successes, _failures, _reason in reports]
    assert mine[0].isdisjoint(mine[1]) and mine[0] | mine[1] == {t.run_id for t in trials}
    assert all(mine), f"one controller ran no trial: {reports}"
    assert {t.worker for t in trials} == {t.worker for t in trials if t.run_id in mine[0]} | {
        t.worker for t in trials if t.run_id in mine[1]}
    assert len({t.worker for t in trials}) == 2
    assert all(reason == "done" and not failures for _s, failures, reason in reports)
    for t in trials:  # the trainer's own view agrees with the store: one observation per trial
        back = yaml.safe_load((sweep_dir(tmp_path, "shared") / "runs" / t.run_id / "sweep_eval_results.yaml")
                              .read_text())
        assert (back["state"], back["score"]) == ("success", t.score)


def test_a_budget_smaller_than_the_slots_is_never_exceeded(tmp_path: Path, shared_url: str | None) -> None:
    init_sweep(tmp_path, "shared", CONFIG, store_url=shared_url)
    # Both controllers see an empty sweep at once and each has room for all 3 trials.
    reports = _run_two_controllers(tmp_path, shared_url, max_trials=3, parallel=3)
    with open_store(tmp_path, "shared", shared_url) as store:
        trials = store.trials("shared")
    assert [t.run_id for t in trials] == ["shared.r.0", "shared.r.1", "shared.r.2"]
    assert sorted(rid for successes, _f, _r in reports for rid in successes) == [t.run_id for t in trials]
    # a third controller started later finds the budget spent and runs nothing
    late = run_sweep(tmp_path, "shared", [*TRAINER, "--report", "stdout"],
                     options=RunnerOptions(max_trials=3, heartbeat_s=0.2), store_url=shared_url)
    assert (late.successes, late.failures, late.stopped_reason) == ([], [], "done")


def test_a_controller_with_an_outdated_view_does_not_over_allocate(tmp_path: Path) -> None:
    """The race itself, made deterministic: another controller fills the sweep after this one looked."""
    from runlab.sweep import LocalDispatcher, SweepRunner, rebuild_optimizer

    init_sweep(tmp_path, "shared", CONFIG)
    with open_store(tmp_path, "shared") as store:
        view = store.trials("shared")  # empty: room for 2 trials
        dispatcher = LocalDispatcher(parallel=3)
        runner = SweepRunner(store, rebuild_optimizer(CONFIG, view, seed=0), dispatcher, name="shared",
                             command=TRAINER, root=sweep_dir(tmp_path, "shared"),
                             options=RunnerOptions(max_trials=2, parallel=3))
        for x in (0.1, 0.2):
            store.allocate_trial("shared", {"x": x, "lr": 1e-3}, worker="other-controller")
        try:
            runner._fill_slots(view)
        finally:
            dispatcher.close()
        assert runner._running == {}
        assert [t.worker for t in store.trials("shared")] == ["other-controller"] * 2
