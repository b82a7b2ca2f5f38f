"""Task samplers and the differential env-config history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError
from runlab.samples import ConfigHistory, LearningProgressSampler, UniformSampler
from runlab.samples._curriculum import config_hash, draw


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 12),
    updates=st.lists(st.tuples(st.integers(0, 11), st.one_of(st.floats(-1.0, 2.0), st.just(float("nan")))), max_size=60),
    exploration=st.floats(0.0, 1.0),
)
def test_lp_probabilities_are_a_distribution_with_an_exploration_floor(n, updates, exploration) -> None:
    s = LearningProgressSampler(n, exploration=exploration)
    for task, score in updates:
        s.update(task % n, score)
    p = s.probabilities()
    assert p.shape == (n,)
    assert np.isfinite(p).all() and np.isclose(p.sum(), 1.0)
    assert (p >= exploration / n - 1e-12).all()


def test_lp_favours_the_task_whose_score_is_changing() -> None:
    s = LearningProgressSampler(3, exploration=0.1)
    for k in range(40):
        s.update(0, 0.5)  # flat
        s.update(1, min(1.0, k / 40))  # improving
        s.update(2, 0.0)  # flat
    p = s.probabilities()
    assert p[1] > p[0] and p[1] > p[2]
    assert np.isclose(p[0], p[2])


def test_lp_explores_unseen_tasks_and_uniform_stays_uniform() -> None:
    s = LearningProgressSampler(4)
    for _ in range(10):
        s.update(0, 0.3)
    p = s.probabilities()
    assert p[1] == p[2] == p[3] >= p[0]
    u = UniformSampler(4)
    u.update(0, 1.0)
    assert np.allclose(u.probabilities(), 0.25)


def test_draw_is_seeded() -> None:
    s = UniformSampler(6)
    a = draw(s, np.random.default_rng(1), 50)
    b = draw(s, np.random.default_rng(1), 50)
    assert a.tolist() == b.tolist() and set(a.tolist()) <= set(range(6))


@pytest.mark.parametrize("kwargs", [{"ema_timescale": 0.0}, {"exploration": 1.5}, {"temperature": 0.0}])
def test_bad_sampler_settings_are_named(kwargs: dict) -> None:
    with pytest.raises(InputError, match="ema_timescale and slow_factor must be"):
        LearningProgressSampler(3, **kwargs)
    with pytest.raises(InputError, match="num_tasks must be >= 1"):
        UniformSampler(0)


def test_config_history_stores_each_distinct_config_once() -> None:
    h = ConfigHistory()
    configs = {"a/b 'x'": {"gravity": 9.8}, "c": {"gravity": 4.9}, "same-as-a": {"gravity": 9.8}}
    probs = {"a/b 'x'": 0.5, "c": 0.25, "same-as-a": 0.25}
    h.record(epoch=1, agent_step=100, in_play=["a/b 'x'", "c", "c"], configs=configs, probabilities=probs)
    h.record(epoch=2, agent_step=200, in_play=["same-as-a"], configs=configs, probabilities=probs)
    out = h.to_json()
    assert len(out["snapshots"]) == 2
    first = out["history"][0]["tasks"]
    assert first["c"] == {"config": config_hash({"gravity": 4.9}), "num_envs": 2, "probability": 0.25}
    assert out["history"][1]["tasks"]["same-as-a"]["config"] == first["a/b 'x'"]["config"]
    assert out["snapshots"][first["c"]["config"]] == {"gravity": 4.9}
