"""Early stopping in sweeps: real trainer processes that print progress lines, watched by a pruner.

The pruner here is a plain object satisfying :class:`runlab.sweep.Pruner` (linear extrapolation
of the curve so far), so the runner's side is tested without a curve model; the slow test at the
end drives ``runlab sweep run --prune-with`` with a real ``runlab.curves`` model.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.sweep import (
    ProgressReader,
    Pruner,
    RunnerOptions,
    SweepRunner,
    init_sweep,
    open_store,
    rank_trials,
    rebuild_optimizer,
    sweep_dir,
)

CONFIG = {"metric": "score", "goal": "maximize", "method": "random",
          "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5}}}
FAST = {"heartbeat_s": 0.2, "stale_after_s": 30.0, "prune_poll_s": 0.05}
STEPS = 10

# Ten progress points (reward climbs linearly to x at step 1000), noise lines in between, then the score.
TRAINER_CODE = textwrap.dedent("""
    import json, sys, time
    x = float(dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)["x"])
    for i in range(1, {steps} + 1):
        print(json.dumps({{"agent_step": i * 100, "overview/reward": x * i / {steps}}}), flush=True)
        print("epoch", i, "done", flush=True)
        time.sleep(0.12)
    print(json.dumps({{"score": x}}), flush=True)
""").format(steps=STEPS)


class Extrapolating:
    """Predicts the final reward by linear extrapolation to step 1000; prunes after 3 points when
    the prediction is below ``best``. Records every call (trials run in dispatcher threads)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[float, int, float]] = []  # (x, points seen, best)
        self.fail = fail
        self.lock = threading.Lock()

    def predicted_final(self, params, steps, values) -> tuple[float, float]:
        return values[-1] * 1000.0 / steps[-1], 0.01

    def should_prune(self, params, steps, values, best, direction) -> bool:
        with self.lock:
            self.calls.append((params["x"], len(steps), best))
        if self.fail:
            raise RuntimeError("model exploded")
        if len(steps) < 3:
            return False
        mean, _ = self.predicted_final(params, steps, values)
        return mean < best if direction == "maximize" else mean > best


class ListOptimizer:
    """Fixed points in order; records observations."""

    def __init__(self, xs: list[float]) -> None:
        self.points = [{"x": x} for x in xs]
        self.observed: list[tuple[float, float | None, bool]] = []

    def suggest(self) -> tuple[dict, dict]:
        return self.points.pop(0), {}

    def observe(self, suggestion, score=None, cost=1.0, is_failure=False) -> None:
        self.observed.append((suggestion["x"], score, is_failure))

    def mark_pending(self, suggestion) -> None:
        pass


def _run(tmp_path: Path, xs: list[float], pruner: object, **options: object):
    from runlab.sweep import LocalDispatcher

    trainer = tmp_path / "trainer.py"
    trainer.write_text(TRAINER_CODE)
    init_sweep(tmp_path, "sw", CONFIG)
    opt = ListOptimizer(xs)
    with open_store(tmp_path, "sw") as store:
        report = SweepRunner(
            store, opt, LocalDispatcher(1), name="sw", command=[sys.executable, str(trainer)],
            root=sweep_dir(tmp_path, "sw"),
            options=RunnerOptions(max_trials=len(xs), pruner=pruner, **{**FAST, **options}),  # type: ignore[arg-type]
        ).run()
        trials = store.trials("sw")
    return report, trials, opt


def _progress_lines(trial_dir: Path) -> int:
    return sum('"agent_step"' in line for line in (trial_dir / "stdout.log").read_text().splitlines())


def test_hopeless_trials_are_stopped_and_recorded_as_pruned(tmp_path: Path) -> None:
    pruner = Extrapolating()
    assert isinstance(pruner, Pruner)
    report, trials, opt = _run(tmp_path, [0.9, 0.2, 0.95, 0.5], pruner)
    assert [t.state for t in trials] == ["success", "pruned", "success", "pruned"]
    assert report.pruned == ["sw.r.1", "sw.r.3"] and report.successes == ["sw.r.0", "sw.r.2"]
    # The bar is the best finished score when the trial started; the first trial has none to clear.
    assert {x for x, _n, _b in pruner.calls} == {0.2, 0.95, 0.5}
    assert {b for x, _n, b in pruner.calls if x == 0.2} == {0.9}
    assert {b for x, _n, b in pruner.calls if x == 0.5} == {0.95}
    full, pruned = trials[0], trials[1]
    # Stopped as soon as the pruner said so: 3 of 10 points, not a line more than the poll lag.
    root = sweep_dir(tmp_path, "sw") / "runs"
    assert _progress_lines(root / pruned.run_id) < STEPS and _progress_lines(root / full.run_id) == STEPS
    assert pruned.cost < full.cost
    assert pruned.score is None and pruned.error is None
    assert pruned.results["_predicted_final"] == pytest.approx(0.2)
    assert pruned.results["_progress_points"] >= 3
    # The optimiser saw the predicted final value as the score, never as a failure.
    assert [(x, round(s, 6), f) for x, s, f in opt.observed] == [
        (0.9, 0.9, False), (0.2, 0.2, False), (0.95, 0.95, False), (0.5, 0.5, False)]
    assert [r.trial.run_id for r in rank_trials(trials, "maximize")] == ["sw.r.2", "sw.r.0"]
    results = yaml.safe_load((root / pruned.run_id / "sweep_eval_results.yaml").read_text())
    assert results["state"] == "pruned" and results["predicted_final"] == pytest.approx(0.2)


def test_a_restarted_controller_observes_pruned_trials_by_their_prediction(tmp_path: Path) -> None:
    _report, trials, _opt = _run(tmp_path, [0.9, 0.3], Extrapolating())
    opt = rebuild_optimizer(CONFIG, trials, seed=0)
    assert sorted((o.score, o.is_failure) for o in opt.observations) == [
        (pytest.approx(0.3), False), (0.9, False)]


def test_sweep_status_shows_pruned_trials(tmp_path: Path) -> None:
    _run(tmp_path, [0.9, 0.2], Extrapolating())
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "status", "sw"])
    assert result.exit_code == 0, result.output
    assert "1 success" in result.output and "1 pruned" in result.output
    assert "~0.2" in result.output
    listed = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "list", "--json"])
    assert json.loads(listed.output)[0]["trials"]["pruned"] == 1


def test_a_failing_pruner_lets_the_trial_finish(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pruner = Extrapolating(fail=True)
    _report, trials, _opt = _run(tmp_path, [0.9, 0.2], pruner)
    assert [t.state for t in trials] == ["success", "success"]
    assert len([c for c in pruner.calls if c[0] == 0.2]) == 1  # asked once, then left alone
    assert "pruner failed" in caplog.text and "model exploded" in caplog.text


def test_without_a_pruner_progress_lines_change_nothing(tmp_path: Path) -> None:
    _report, trials, opt = _run(tmp_path, [0.9, 0.2], None)
    assert [t.state for t in trials] == ["success", "success"]
    assert [s for _x, s, _f in opt.observed] == [0.9, 0.2]


def test_progress_reader_reads_complete_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    reader = ProgressReader(log, "r", "step")
    assert not reader.poll()  # no file yet
    log.write_text('{"step": 1, "r": 0.5}\nnot json\n{"step": 2, "r": true}\n{"step": 3, "r": NaN}\n{"step": 4,')
    assert reader.poll() and (reader.steps, reader.values) == ([1.0], [0.5])
    with open(log, "a") as fh:
        fh.write(' "r": 2.5}\n["a list"]\n{"r": 1}\n')
    assert reader.poll() and (reader.steps, reader.values) == ([1.0, 4.0], [0.5, 2.5])
    assert not reader.poll()


def test_runner_options_reject_a_pruner_without_the_protocol() -> None:
    from runlab.errors import InputError

    with pytest.raises(InputError, match="should_prune"):
        RunnerOptions(pruner=object())  # type: ignore[arg-type]


def test_prune_with_a_missing_model_folder_is_a_clean_error(tmp_path: Path) -> None:
    init_sweep(tmp_path, "sw", CONFIG)
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "run", "sw", "--max-trials", "1",
                                      "--prune-with", str(tmp_path / "nope"), "--", sys.executable, "-c", "pass"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "nope" in result.output
    with open_store(tmp_path, "sw") as store:
        assert store.trials("sw") == []  # nothing ran


REPLAY_CODE = textwrap.dedent("""
    import json, sys, time
    import pandas as pd
    run = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)["curve"]
    curves = pd.read_parquet(sys.argv[1])
    curve = curves[curves.run_id == run].sort_values("agent_step")
    for step, reward in zip(curve.agent_step, curve.reward):
        print(json.dumps({"agent_step": int(step), "overview/reward": float(reward)}), flush=True)
        time.sleep(0.03)
    print(json.dumps({"score": float(curve.reward.iloc[-1])}), flush=True)
""")


@pytest.mark.slow
def test_prune_with_a_trained_curve_model_end_to_end(tmp_path: Path) -> None:
    """``runlab curves train`` on the sample curves (a tiny model), then ``runlab sweep run
    --prune-with`` replaying a strong and a weak sample curve: the weak one is stopped early."""
    samples = Path(__file__).resolve().parents[1] / "samples" / "curves"
    model = tmp_path / "model"
    trained = CliRunner().invoke(app, ["--home", str(tmp_path), "curves", "train", "--data", str(samples),
                                       "--out", str(model), "num_epochs=3", "hidden_dim=16"])
    assert trained.exit_code == 0, trained.output
    import pandas as pd

    finals = pd.read_parquet(samples / "runs.parquet").set_index("run_id").final_reward.sort_values()
    weak, strong = str(finals.index[5]), str(finals.index[-5])
    config = {"metric": "score", "goal": "maximize", "method": "grid",
              "parameters": {"curve": {"values": [strong, weak]}}}
    init_sweep(tmp_path, "replay", config)
    trainer = tmp_path / "replay.py"
    trainer.write_text(REPLAY_CODE)
    result = CliRunner().invoke(app, [
        "--home", str(tmp_path), "sweep", "run", "replay", "--max-trials", "2", "--prune-with", str(model),
        "--prune-threshold", "0.9", "--prune-min-fraction", "0.2", "--prune-metric", "overview/reward", "--",
        sys.executable, str(trainer), str(samples / "curves.parquet")])
    assert result.exit_code == 0, result.output
    assert "1 succeeded, 0 failed, 1 pruned" in result.output
    with open_store(tmp_path, "replay") as store:
        first, second = store.trials("replay")
    assert (first.suggestion["curve"], first.state) == (strong, "success")
    assert first.score == pytest.approx(float(finals[strong]), abs=1e-6)
    assert (second.suggestion["curve"], second.state) == (weak, "pruned")
    assert math.isfinite(second.results["_predicted_final"]) and second.results["_predicted_final"] < first.score
    points = _progress_lines(sweep_dir(tmp_path, "replay") / "runs" / second.run_id)
    assert 0 < points < 90  # stopped well before the end of its ~97 points
    assert second.cost < first.cost
