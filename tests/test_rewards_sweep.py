"""`sweep_scorer`: Protein over scorer settings against replay objectives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from runlab.errors import InputError
from runlab.rewards import LPScorer, objective_value, replay, sweep_scorer


def _rising(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    task = rng.integers(4, size=n)
    reward = rng.normal(0.2, 0.05, n)
    late = (task == 1) & (np.arange(n) > n // 3)
    reward[late] += np.linspace(0, 0.6, late.sum())
    return pd.DataFrame({"episode": np.arange(n), "task": [f"t{i}" for i in task], "reward": reward})


def test_trials_score_the_replays_they_ran_and_best_is_the_maximum():
    ep = _rising()
    res = sweep_scorer(ep, "metta", trials=6, seed=3, noise_budget=0.02)
    assert len(res.trials) == 6 and not res.trials["failed"].any()
    for row in res.trials.itertuples():
        s = LPScorer("metta", ema_timescale=row.ema_timescale, slow_timescale_factor=row.slow_timescale_factor,
                     z_score_amplification=row.z_score_amplification)
        assert row.objective == pytest.approx(objective_value(replay(ep, s).summary, "lag_at_noise", 0.02, 100.0))
    assert res.best_score == pytest.approx(res.trials["objective"].max())
    again = sweep_scorer(ep, "metta", trials=6, seed=3, noise_budget=0.02)
    pd.testing.assert_frame_equal(res.trials, again.trials)  # seeded


def test_no_rising_task_is_a_failed_trial_not_a_success():
    rng = np.random.default_rng(1)
    flat = pd.DataFrame({"episode": np.arange(600), "task": rng.choice(["a", "b", "c"], 600),
                         "reward": rng.normal(0.5, 0.05, 600)})
    res = sweep_scorer(flat, "syllabus", trials=3, objective="lag")
    assert res.trials["failed"].all() and res.best is None and res.best_score == -math.inf
    ok = sweep_scorer(flat, "syllabus", trials=3, objective="selectivity")
    assert not ok.trials["failed"].any() and ok.best is not None


def test_bad_sweep_arguments():
    with pytest.raises(InputError, match="objective"):
        sweep_scorer(_rising(200), objective="fastest")
    with pytest.raises(InputError, match="unknown setting"):
        sweep_scorer(_rising(200), "syllabus", parameters={"ema_timescale": {"distribution": "log_normal",
                                                                             "min": 0.01, "max": 0.1}})


@pytest.mark.slow
def test_same_seed_same_trials_in_another_process(tmp_path):
    import subprocess
    import sys

    ep = _rising(800)
    ep.to_parquet(tmp_path / "ep.parquet")
    code = ("import sys, pandas as pd; from runlab.rewards import sweep_scorer; "
            "r = sweep_scorer(pd.read_parquet(sys.argv[1]), 'syllabus', trials=4, seed=7); "
            "r.trials.to_parquet(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "ep.parquet"), str(tmp_path / "t.parquet")],
                   check=True, timeout=300)
    here = sweep_scorer(ep, "syllabus", trials=4, seed=7).trials
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), here)
