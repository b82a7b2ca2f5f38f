"""Shared suites for the sweep package's two interfaces with several implementations.

* :class:`OptimizerSuite`: what every :class:`runlab.sweep.SweepOptimizer` does (plain nested
  suggestions in bounds, seeded reproducibility, invalid outcomes rejected without losing
  anything, failures never successes, pending suggestions not repeated). Subclass it and set
  ``optimizer_class``.
* :class:`DispatcherSuite`: what every :class:`runlab.sweep.Dispatcher` does with real trainer
  processes (an outcome per trial, trainer failures as outcomes, trials side by side, ``abort``
  stopping running trainers). Subclass it and provide the ``make_dispatcher`` fixture.

Example::

    from runlab.sweep import Protein
    from runlab.testing.sweep import OptimizerSuite

    class TestProtein(OptimizerSuite):
        optimizer_class = Protein
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runlab.errors import InputError
from runlab.sweep import Dispatcher, SweepOptimizer, TrialOutcome, TrialSpec, hydra_overrides

# -- optimisers -------------------------------------------------------------------------------
SUITE_TREE: dict[str, Any] = {
    "trainer": {
        "optimizer": {"learning_rate": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2, "mean": 3e-4}},
        "batch_size": {"distribution": "uniform_pow2", "min": 16, "max": 128, "mean": 64},
        "epochs": {"distribution": "int_uniform", "min": 1, "max": 4, "mean": 2},
        "clip": {"distribution": "logit_normal", "min": 0.05, "max": 0.5, "mean": 0.2},
    },
    "act": {"values": ["relu", "tanh"]},
    "gamma": {"distribution": "uniform", "min": 0.9, "max": 0.999, "mean": 0.99},
}
"""Every distribution and a categorical, nested two levels deep."""


def suite_config(goal: str = "maximize", **protein: object) -> dict[str, Any]:
    """The suite's sweep config: :data:`SUITE_TREE` with small candidate budgets (fast tests)."""
    return {"metric": "reward", "goal": goal,
            "protein": {"num_random_samples": 4, "random_suggestions": 256, "suggestions_per_pareto": 64,
                        "grid_points": 2, **protein},
            "parameters": SUITE_TREE}


def toy_score(opt: SweepOptimizer, suggestion: dict[str, Any]) -> float:
    """A smooth score over the suite's space, best at learning rate 10^-3.5 and gamma 0.95."""
    flat = opt.flat_params(suggestion)
    return -(math.log10(flat["trainer.optimizer.learning_rate"]) + 3.5) ** 2 - (flat["gamma"] - 0.95) ** 2 * 50


def assert_plain(node: object) -> None:
    """Suggestions serialise anywhere: only builtin types, no numpy scalars."""
    if isinstance(node, dict):
        for v in node.values():
            assert_plain(v)
    else:
        assert type(node) in (int, float, str, bool, type(None)), type(node)


class OptimizerSuite:
    """Behaviour every optimiser has. Subclasses set ``optimizer_class`` (or override ``make``)."""

    optimizer_class: type[SweepOptimizer]

    def make(self, cfg: dict[str, Any] | None = None, seed: int = 0) -> SweepOptimizer:
        return self.optimizer_class(cfg or suite_config(), seed=seed)

    def run(self, opt: SweepOptimizer, n: int) -> list[dict[str, Any]]:
        """``n`` suggestions, each observed with :func:`toy_score`."""
        out = []
        for _ in range(n):
            s, info = opt.suggest()
            assert isinstance(info, dict)
            opt.observe(s, score=toy_score(opt, s), cost=1.0)
            out.append(s)
        return out

    def test_suggestions_are_nested_plain_and_in_bounds(self) -> None:
        opt = self.make()
        for s in self.run(opt, 8):
            assert_plain(s)
            assert set(s) == {"trainer", "act", "gamma"} and set(s["trainer"]["optimizer"]) == {"learning_rate"}
            flat = opt.flat_params(s)
            for param in opt.space.params:
                value = flat[param.path]
                if hasattr(param, "values"):
                    assert value in param.values
                else:
                    assert param.min <= value <= param.max
            assert flat["trainer.batch_size"] in (16, 32, 64, 128)

    def test_same_seed_same_suggestions(self) -> None:
        assert self.run(self.make(seed=3), 7) == self.run(self.make(seed=3), 7)

    def test_nan_and_inf_scores_are_rejected_and_nothing_is_lost(self) -> None:
        opt = self.make()
        self.run(opt, 2)
        s, _ = opt.suggest()
        for bad in (float("nan"), float("inf"), -float("inf"), None, "0.5"):
            with pytest.raises(InputError, match="score"):
                opt.observe(s, score=bad)  # type: ignore[arg-type]
        for bad_cost in (0.0, -1.0, float("nan")):
            with pytest.raises(InputError, match="cost"):
                opt.observe(s, score=1.0, cost=bad_cost)
        assert len(opt.observations) == 2

    def test_failures_are_never_successes(self) -> None:
        opt = self.make()
        s, _ = opt.suggest()
        obs = opt.observe(s, score=float("nan"), cost=float("nan"), is_failure=True)
        assert obs.is_failure and obs.score is None and obs.cost is None
        assert opt.successes == [] and opt.best() is None
        s2, _ = opt.suggest()
        opt.observe(s2, score=-1.0)
        best = opt.best()
        assert best is not None and best.score == -1.0

    def test_pending_suggestions_are_not_repeated(self) -> None:
        opt = self.make()
        self.run(opt, 5)
        seen: list[dict[str, Any]] = []
        for _ in range(3):
            s, _ = opt.suggest()
            assert s not in seen
            opt.mark_pending(s)
            seen.append(s)
        assert len(opt.pending) == 3
        assert opt.clear_pending(seen[0]) and not opt.clear_pending(seen[0])
        opt.observe(seen[1], score=0.0)
        assert opt.pending == [seen[2]]

    def test_observe_names_missing_or_out_of_range_parameters(self) -> None:
        opt = self.make()
        s, _ = opt.suggest()
        del s["trainer"]["epochs"]
        with pytest.raises(InputError, match=r"trainer\.epochs"):
            opt.observe(s, score=1.0)
        s, _ = opt.suggest()
        s["gamma"] = 2.0
        with pytest.raises(InputError, match="'gamma' must lie in"):
            opt.observe(s, score=1.0)
        assert opt.observations == []


# -- dispatchers ------------------------------------------------------------------------------
#: A trainer in a few lines: records its pid and start/end times, sleeps, prints its score.
SUITE_TRAINER = """
import json, os, sys, time
args = dict(a.split("=", 1) for a in sys.argv[1:])
folder = os.environ["RUNLAB_TRIAL_DIR"]
start = time.time()
with open(os.path.join(folder, "pid"), "w") as fh:
    fh.write(str(os.getpid()))
time.sleep(float(args["sleep"]))
code = int(args["exit"])
if code == 0:
    print(json.dumps({"score": 2 * float(args["x"]), "cost": 3.0, "run_id": os.environ["RUNLAB_SWEEP_RUN_ID"],
                      "start": start, "end": time.time()}))
sys.exit(code)
"""


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not reaped yet, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        with contextlib.suppress(OSError):
            os.kill(pid, 0)
            return not sys.platform.startswith("linux")
        return False
    return state != "Z"


def _wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


class DispatcherSuite:
    """Behaviour every dispatcher has, with real trainer processes.

    Subclasses provide the ``make_dispatcher`` fixture: a factory ``parallel -> Dispatcher``
    (the suite closes or aborts what it makes).
    """

    #: Seconds a dispatcher may take to start a trainer (a Ray worker starts slower than a thread).
    start_timeout_s: float = 60.0

    @pytest.fixture
    def make_dispatcher(self) -> Callable[[int], Dispatcher]:
        raise NotImplementedError

    @pytest.fixture
    def dispatcher_of(self, make_dispatcher: Callable[[int], Dispatcher]) -> Iterator[Callable[[int], Dispatcher]]:
        made: list[Dispatcher] = []

        def make(parallel: int) -> Dispatcher:
            made.append(make_dispatcher(parallel))
            return made[-1]

        yield make
        for dispatcher in made:
            dispatcher.abort()

    def spec(self, root: Path, index: int, *, x: float = 0.25, sleep: float = 0.0, exit_code: int = 0) -> TrialSpec:
        """A trial of :data:`SUITE_TRAINER` in ``root/runs/t.r.<index>``."""
        suggestion = {"x": x, "sleep": sleep, "exit": exit_code}
        run_id = f"t.r.{index}"
        return TrialSpec(run_id=run_id, sweep="t", command=[sys.executable, "-c", SUITE_TRAINER],
                         overrides=hydra_overrides(suggestion), suggestion=suggestion,
                         trial_dir=str(root / "runs" / run_id), metric="score", cwd=str(root))

    def test_submit_runs_the_trial_and_returns_its_outcome(self, dispatcher_of: Callable[[int], Dispatcher],
                                                           tmp_path: Path) -> None:
        dispatcher = dispatcher_of(1)
        spec = self.spec(tmp_path, 0, x=0.375)
        outcome = dispatcher.submit(spec).result(timeout=self.start_timeout_s + 60)
        assert isinstance(outcome, TrialOutcome)
        assert (outcome.run_id, outcome.ok, outcome.score, outcome.cost, outcome.source) == (
            "t.r.0", True, 0.75, 3.0, "stdout")
        assert outcome.results["run_id"] == "t.r.0"  # RUNLAB_SWEEP_RUN_ID reached the trainer
        written = Path(spec.trial_dir) / "train_config_overrides.yaml"
        assert written.exists() and "x: 0.375" in written.read_text()
        dispatcher.close()

    def test_a_failing_trainer_is_an_outcome_not_an_exception(self, dispatcher_of: Callable[[int], Dispatcher],
                                                             tmp_path: Path) -> None:
        dispatcher = dispatcher_of(1)
        outcome = dispatcher.submit(self.spec(tmp_path, 1, exit_code=3)).result(timeout=self.start_timeout_s + 60)
        assert not outcome.ok and outcome.exit_code == 3 and outcome.score is None
        assert outcome.error is not None and "t.r.1" in outcome.error and "code 3" in outcome.error
        dispatcher.close()

    def test_trials_run_side_by_side(self, dispatcher_of: Callable[[int], Dispatcher], tmp_path: Path) -> None:
        dispatcher = dispatcher_of(2)
        futures = [dispatcher.submit(self.spec(tmp_path, i, x=i / 10, sleep=1.5)) for i in range(2)]
        outcomes = [f.result(timeout=self.start_timeout_s + 60) for f in futures]
        assert [o.score for o in outcomes] == [0.0, 0.2]
        (a, b) = (o.results for o in outcomes)
        assert a["start"] < b["end"] and b["start"] < a["end"], "the two trials did not overlap"
        dispatcher.close()

    def test_abort_stops_running_trainers(self, dispatcher_of: Callable[[int], Dispatcher], tmp_path: Path) -> None:
        dispatcher = dispatcher_of(2)
        specs = [self.spec(tmp_path, i, sleep=120.0) for i in range(2)]
        for spec in specs:
            dispatcher.submit(spec)
        pid_files = [Path(s.trial_dir) / "pid" for s in specs]
        _wait_for(lambda: all(p.exists() and p.read_text() for p in pid_files), self.start_timeout_s,
                  "both trainers to start")
        pids = [int(p.read_text()) for p in pid_files]
        t0 = time.monotonic()
        dispatcher.abort()
        assert time.monotonic() - t0 < 30.0, "abort waited for the trainers"
        _wait_for(lambda: not any(map(process_alive, pids)), 30.0, "the aborted trainers to end")

    def test_abort_right_after_submit_waits_for_no_trainer(self, dispatcher_of: Callable[[int], Dispatcher],
                                                          tmp_path: Path) -> None:
        """A trial submitted a moment before ``abort`` (its trainer may be starting) is stopped too."""
        dispatcher = dispatcher_of(1)
        spec = self.spec(tmp_path, 0, sleep=120.0)
        dispatcher.submit(spec)
        t0 = time.monotonic()
        dispatcher.abort()
        assert time.monotonic() - t0 < 30.0, "abort waited for a trainer that was starting"
        pid_file = Path(spec.trial_dir) / "pid"
        if pid_file.exists() and pid_file.read_text():
            pid = int(pid_file.read_text())
            _wait_for(lambda: not process_alive(pid), 30.0, "the aborted trainer to end")


__all__ = [
    "SUITE_TRAINER",
    "SUITE_TREE",
    "DispatcherSuite",
    "OptimizerSuite",
    "assert_plain",
    "process_alive",
    "suite_config",
    "toy_score",
]
