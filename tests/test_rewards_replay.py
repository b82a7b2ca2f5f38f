"""LP replay: syllabus-rl parity (the real package), Metta formulas against a per-episode reference,
variants, summary metrics, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError
from runlab.rewards import LPScorer, replay

# syllabus-rl sets ``np.seterr(all="raise")`` when its PLR module is imported (a process-wide side
# effect): import it whole here and restore numpy's error handling for every other test.
_errors = np.geterr()
syllabus = pytest.importorskip("syllabus.curricula")
np.seterr(**_errors)


def _episodes(n: int, tasks: int, seed: int, scale: float = 2.0) -> pd.DataFrame:
    """A stream where some tasks improve over time (integer-floor successes happen)."""
    rng = np.random.default_rng(seed)
    task = rng.integers(tasks, size=n)
    trend = np.linspace(0, 1, n)[:, None] * rng.random(tasks)[None, :]
    reward = np.clip(rng.normal(trend[np.arange(n), task] * scale, 0.5), -1, None)
    return pd.DataFrame({"episode": np.arange(n), "task": [f"t{i}" for i in task], "reward": reward})


def _syllabus_loop(ep: pd.DataFrame, names: list[str], **kw) -> np.ndarray:
    """syllabus-rl's own loop: update_task_progress + update_on_episode per episode, distribution
    read after every update."""
    from syllabus.curricula import OnlineLearningProgress
    from syllabus.task_space import DiscreteTaskSpace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cur = OnlineLearningProgress(DiscreteTaskSpace(len(names)), **kw)
        lookup = {n: i for i, n in enumerate(names)}
        out = []
        for i, (task, r) in enumerate(zip(ep["task"], ep["reward"], strict=True)):
            t = lookup[task]
            cur.update_task_progress(t, float(r))
            cur.update_on_episode(float(r), 1, t, float(r))
            if (i + 1) % kw["update_interval"] == 0:
                out.append(np.array(cur._sample_distribution(), dtype=float))
    return np.array(out)


@pytest.mark.parametrize(("n", "tasks", "seed", "kw"), [
    (600, 5, 0, {"ema_alpha": 0.1, "p_theta": 0.1, "uniform_prob": 0.25, "update_interval": 10}),
    (1000, 8, 1, {"ema_alpha": 0.3, "p_theta": 0.05, "uniform_prob": 0.1, "update_interval": 7}),
    (400, 3, 2, {"ema_alpha": 0.05, "p_theta": 0.3, "uniform_prob": 0.0, "update_interval": 20}),
])
def test_syllabus_preset_matches_syllabus_rl_after_every_update(n, tasks, seed, kw):
    ep = _episodes(n, tasks, seed)
    names = sorted(set(ep["task"]))
    res = replay(ep, LPScorer("syllabus", **kw), tasks=names)
    ref = _syllabus_loop(ep, names, **kw)
    assert res.prob.shape == ref.shape == (n // kw["update_interval"], len(names))
    np.testing.assert_allclose(res.prob, ref, rtol=0, atol=1e-9)
    assert np.ptp(ref, axis=1).max() > 0.01  # the test stream is not trivially uniform


def test_syllabus_success_input_matches_syllabus_fed_successes():
    ep = _episodes(500, 4, 3)
    names = sorted(set(ep["task"]))
    kw = {"ema_alpha": 0.2, "p_theta": 0.1, "uniform_prob": 0.2, "update_interval": 5}
    res = replay(ep, LPScorer("syllabus", input="success", success_threshold=1.0, **kw), tasks=names)
    fed = ep.assign(reward=(ep["reward"] >= 1.0).astype(float))
    np.testing.assert_allclose(res.prob, _syllabus_loop(fed, names, **kw), rtol=0, atol=1e-9)


def _metta_reference(ep: pd.DataFrame, names: list[str], s: dict) -> np.ndarray:
    """Metta's per-episode algorithm written as a plain loop over dicts, from its formulas."""
    fast: dict[int, float] = {}
    slow: dict[int, float] = {}
    count: dict[int, int] = {}
    out = []

    def rw(p: float) -> float:
        m = s["progress_smoothing"]
        den = p + m * (1 - 2 * p)
        return p * (1 - m) / (den if den > 0 else 1.0)

    for task, r in zip(ep["task"], ep["reward"], strict=True):
        t = names.index(task)
        q = (min(max(r, 0.0), 1.0) - 0.5) / 0.5
        if t not in fast:
            fast[t] = slow[t] = q
        else:
            fast[t] = q * s["ema_timescale"] + fast[t] * (1 - s["ema_timescale"])
            sts = s["ema_timescale"] * s["slow_timescale_factor"]
            slow[t] = q * sts + slow[t] * (1 - sts)
        count[t] = count.get(t, 0) + 1
        raw = []
        for i in range(len(names)):
            if count.get(i, 0) < 2:
                raw.append(s["exploration_bonus"])
                continue
            f, sl = (rw(fast[i]), rw(slow[i])) if s["progress_smoothing"] else (fast[i], slow[i])
            raw.append(max(abs(f - sl) + max(f, 0) * s["lp_gain"], s["exploration_bonus"]))
        raw = np.array(raw)
        pos = raw > 0
        sub = raw[pos]
        if sub.size > 2:
            sd = np.std(sub)
            sub = (sub - sub.mean()) / sd * s["z_score_amplification"] if sd > 0 else sub - sub.mean()
        sub = 1 / (1 + np.exp(-np.clip(sub, -500, 500)))
        dist = np.zeros(len(names))
        dist[pos] = sub / sub.sum()
        out.append((1 - s["rand_task_rate"]) * dist + s["rand_task_rate"] / len(names))
    return np.array(out)


@pytest.mark.parametrize("kw", [{}, {"progress_smoothing": 0.0, "z_score_amplification": 10.0},
                                {"ema_timescale": 0.3, "lp_gain": 0.5, "rand_task_rate": 0.0}])
def test_metta_preset_matches_a_per_episode_reference(kw):
    ep = _episodes(400, 5, 4, scale=1.0)
    names = sorted(set(ep["task"]))
    scorer = LPScorer("metta", **kw)
    res = replay(ep, scorer, tasks=names)
    ref = _metta_reference(ep, names, scorer.settings)
    np.testing.assert_allclose(res.prob, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.prob.sum(axis=1), 1.0, atol=1e-12)


def test_summary_selectivity_against_direct_formulas():
    ep = _episodes(800, 6, 5)
    res = replay(ep, LPScorer("syllabus", input="scaled", update_interval=8))
    p = res.prob
    t = p.shape[1]
    mad = np.abs(p[:, :, None] - p[:, None, :]).sum(axis=(1, 2)) / (2 * t * t * p.mean(axis=1))
    np.testing.assert_allclose(res.per_update["gini"], mad, atol=1e-12)
    ent = np.array([-(row * np.log(row)).sum() / math.log(t) for row in p])
    np.testing.assert_allclose(res.per_update["entropy"], ent, atol=1e-12)
    assert res.summary["gini_mean"] == pytest.approx(mad.mean())
    long = res.probabilities
    assert list(long.columns) == ["update", "episode", "task", "probability", "fast", "slow", "learning_progress"]
    assert len(long) == p.size and long.groupby("update")["probability"].sum().sub(1).abs().max() < 1e-12


def test_tracking_lag_sees_a_task_that_starts_rising():
    rng = np.random.default_rng(0)
    n, rise_at = 3000, 1500
    task = rng.integers(4, size=n)
    reward = rng.normal(0.2, 0.05, size=n)
    late = (task == 2) & (np.arange(n) >= rise_at)
    reward[late] += np.linspace(0, 0.7, late.sum())
    ep = pd.DataFrame({"episode": np.arange(n), "task": [f"t{i}" for i in task], "reward": reward})
    res = replay(ep, LPScorer("metta", ema_timescale=0.1, z_score_amplification=5.0))
    assert list(res.summary["rising_tasks"]) == ["t2"]
    detected = res.summary["rising_tasks"]["t2"]
    assert rise_at < detected < rise_at + 800
    lag = int(res.summary["tracking_lag"])
    assert 0 <= lag < 300 and res.summary["tracking_lag_censored"] == 0
    col = res.prob[detected:, res.tasks.index("t2")]  # metta: one update per episode
    assert col[lag] > 0.25 and np.all(col[:lag] <= 0.25 + 1e-9)


def test_variants_change_the_distribution_as_documented():
    ep = _episodes(600, 5, 6, scale=1.0)
    ep["sps"] = np.where(ep["task"] == "t0", 100.0, 1000.0)
    base = replay(ep, LPScorer("metta", z_score_amplification=3.0))
    sharp = replay(ep, LPScorer("metta", amplification_schedule="linear", amplification_start=3.0,
                                amplification_end=0.0, z_score_amplification=3.0))
    assert sharp.summary["gini_final"] < base.summary["gini_final"]  # annealed to no selectivity
    np.testing.assert_allclose(sharp.prob[-1], sharp.prob[-1].mean(), atol=1e-12)
    plain, gated = replay(ep, LPScorer("metta")), replay(ep, LPScorer("metta", sps_gate=1.0))
    t0 = base.tasks.index("t0")
    assert gated.prob[-1, t0] < plain.prob[-1, t0]  # the slow environment loses probability
    adv = replay(ep, LPScorer("syllabus", input="advantage"))
    assert np.all((adv.prob >= 0) & (adv.prob <= 1))
    hook = replay(ep, LPScorer("syllabus", input=lambda e: (e["reward"] > 0.5).astype(float).to_numpy()))
    np.testing.assert_allclose(hook.prob, replay(ep, LPScorer("syllabus", input="success",
                                                              success_threshold=0.5 + 1e-12)).prob)


def test_active_pool_caps_the_number_of_tasks_with_probability():
    ep = _episodes(1500, 8, 7, scale=1.0)
    res = replay(ep, LPScorer("metta", num_active_tasks=3, rand_task_rate=0.0, min_presentations=5))
    active = (res.prob > 0).sum(axis=1)
    assert active.max() == 3
    members = {tuple(np.flatnonzero(row)) for row in res.prob > 0}
    assert len(members) > 1  # eviction happened


def test_temperature_mode_divides_instead_of_z_scoring():
    ep = _episodes(300, 4, 8, scale=1.0)
    a = replay(ep, LPScorer("metta", lp_score_temperature=0.5, rand_task_rate=0.0))
    raw = a.learning_progress[-1]
    w = 1 / (1 + np.exp(-raw / 0.5))
    np.testing.assert_allclose(a.prob[-1], w / w.sum(), atol=1e-12)


@settings(max_examples=12, deadline=None)
@given(st.integers(20, 200), st.integers(1, 6), st.integers(0, 10_000), st.sampled_from(["syllabus", "metta"]))
def test_distributions_are_valid_and_deterministic(n, tasks, seed, preset):
    ep = _episodes(n, tasks, seed)
    a = replay(ep, LPScorer(preset, update_interval=3))
    b = replay(ep, LPScorer(preset, update_interval=3))
    assert np.array_equal(a.prob, b.prob)
    if len(a.prob):
        assert np.all(a.prob >= 0) and np.allclose(a.prob.sum(axis=1), 1.0)


def test_bad_settings_and_input_name_the_problem():
    with pytest.raises(InputError, match="unknown setting"):
        LPScorer("syllabus", ema_timescale=0.1)
    with pytest.raises(InputError, match="ema_alpha"):
        LPScorer("syllabus", ema_alpha=1.5)
    with pytest.raises(InputError, match="unknown LP preset"):
        LPScorer("nope")
    with pytest.raises(InputError, match="key=value"):
        LPScorer.from_overrides("metta", ["ema_timescale"])
    assert LPScorer.from_overrides("metta", ["ema_timescale=0.05"])["ema_timescale"] == 0.05
    with pytest.raises(InputError, match="lacks column"):
        replay(pd.DataFrame({"task": ["a"]}), LPScorer())
    with pytest.raises(InputError, match="not in the given task list"):
        replay(_episodes(50, 3, 0), LPScorer(), tasks=["t0"])
