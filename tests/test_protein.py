"""Optimisers: the shared suite (``runlab.testing.sweep``) every method passes, then Protein's own behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.sweep import (
    GridSearch,
    Protein,
    RandomSearch,
    SearchExhaustedError,
    load_sweep_config,
    make_optimizer,
    pareto_front,
)
from runlab.testing.sweep import OptimizerSuite, assert_plain, suite_config

config = suite_config


class TestProteinSuite(OptimizerSuite):
    optimizer_class = Protein


class TestRandomSuite(OptimizerSuite):
    optimizer_class = RandomSearch


class TestGridSuite(OptimizerSuite):
    optimizer_class = GridSearch

    def test_same_seed_same_suggestions(self) -> None:
        # grid order does not depend on the seed at all
        assert self.run(self.make(seed=1), 7) == self.run(self.make(seed=2), 7)


# -- Protein ---------------------------------------------------------------------------------


def quad_config(goal: str, **protein: object) -> dict:
    return {"goal": goal, "protein": {"num_random_samples": 5, "random_suggestions": 256,
                                      "suggestions_per_pareto": 64, **protein},
            "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5},
                           "y": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5}}}


def quad(s: dict) -> float:
    return (s["x"] - 0.8) ** 2 + (s["y"] - 0.15) ** 2


def test_first_suggestion_is_the_search_centre() -> None:
    p = Protein(config(), seed=0)
    s, info = p.suggest()
    assert info["phase"] == "center"
    assert p.flat_params(s) == {"trainer.optimizer.learning_rate": pytest.approx(3e-4),
                                "trainer.batch_size": 64, "trainer.epochs": 2,
                                "trainer.clip": pytest.approx(0.2), "act": "relu", "gamma": pytest.approx(0.99)}


@pytest.mark.parametrize("acquisition", ["ei", "ucb", "naive"])
@pytest.mark.parametrize("goal", ["minimize", "maximize"])
def test_finds_the_optimum_in_either_direction(goal: str, acquisition: str) -> None:
    sign = 1.0 if goal == "minimize" else -1.0
    p = Protein(quad_config(goal, acquisition=acquisition), seed=1)
    for _ in range(25):
        s, info = p.suggest()
        p.observe(s, score=sign * quad(s))
        if info["phase"] == "bayes" and acquisition != "ei":
            assert info["acquisition_value"] >= 0.0  # the weight never turns the acquisition negative
    best = p.best()
    assert best is not None and quad(best.params) < 0.02
    # random search with the same budget is worse on this seed: the GP is doing the work
    r = RandomSearch(quad_config(goal), seed=1)
    for _ in range(25):
        s, _ = r.suggest()
        r.observe(s, score=sign * quad(s))
    assert quad(best.params) < quad(r.best().params)  # type: ignore[union-attr]


def test_minimisation_never_picks_candidates_over_the_cost_cap() -> None:
    """The original Protein multiplied scores by a 0/1 mask, so under ``minimize`` masked
    candidates (score 0) beat every real one. Here the cheap region is also the bad one."""
    cap = 20.0
    p = Protein(quad_config("minimize", max_suggestion_cost=cap, num_random_samples=6), seed=0)
    picked = []
    for _ in range(22):
        s, info = p.suggest()
        cost = 1.0 + 100.0 * s["x"] ** 3  # expensive where the score is good (x near 0.8)
        p.observe(s, score=quad(s), cost=cost)
        if info["phase"] == "bayes":
            assert info["predicted_cost"] <= cap
            picked.append(cost)
    assert np.median(picked) <= cap


def test_failures_steer_suggestions_away() -> None:
    def outcome(s: dict) -> float | None:
        return None if s["x"] > 0.6 else -((s["x"] - 0.4) ** 2) - (s["y"] - 0.5) ** 2

    p = Protein(quad_config("maximize", num_random_samples=8), seed=2)
    bayes_failures = 0
    for _ in range(24):
        s, info = p.suggest()
        score = outcome(s)
        p.observe(s, score=score, is_failure=score is None)
        bayes_failures += info["phase"] == "bayes" and score is None
    assert bayes_failures <= 2
    assert all(o.params["x"] > 0.6 for o in p.failures)
    assert all(o.score is not None for o in p.successes)


def test_global_search_scale_widens_exploration() -> None:
    spread = {}
    for gss in (0.1, 1.0):
        cfg = quad_config("maximize", global_search_scale=gss, num_random_samples=40)
        cfg["parameters"]["x"]["scale"] = 0.25
        p = Protein(cfg, seed=0)
        xs = []
        for _ in range(40):
            s, _ = p.suggest()
            p.observe(s, score=0.0)
            xs.append(s["x"])
        spread[gss] = np.ptp(xs)
    assert spread[0.1] < 0.1 < spread[1.0]


def test_pending_trials_spread_parallel_workers_in_the_gp_phase() -> None:
    cfg = quad_config("minimize")
    cfg["parameters"]["x"] = {"distribution": "int_uniform", "min": 0, "max": 3}
    cfg["parameters"]["y"] = {"values": ["a", "b"]}
    p = Protein(cfg, seed=0)
    for _ in range(6):
        s, _ = p.suggest()
        p.observe(s, score=float(s["x"]) + (s["y"] == "b"))
    batch = []
    for _ in range(4):
        s, info = p.suggest()
        assert info["phase"] == "bayes"
        p.mark_pending(s)
        batch.append((s["x"], s["y"]))
    assert len(set(batch)) == 4


def test_cost_model_and_pareto_front_are_used() -> None:
    p = Protein(quad_config("maximize"), seed=0)
    for _ in range(10):
        s, info = p.suggest()
        p.observe(s, score=s["x"], cost=10 ** (1 + 2 * s["x"]))
    assert info["phase"] == "bayes"
    assert info["cost_target"] is not None and info["pareto_size"] >= 2
    assert info["predicted_cost"] > 0


def test_resample_frequency_repeats_a_pareto_point() -> None:
    p = Protein(quad_config("maximize", resample_frequency=3), seed=0)
    for i in range(1, 13):
        s, info = p.suggest()
        if i % 3 == 0 and info["phase"] == "resample":
            assert any(o.params == s for o in p.successes)
        p.observe(s, score=-quad(s))
    assert sum(1 for o in p.observations if info) >= 12


def test_pareto_front() -> None:
    costs = np.array([1.0, 2.0, 2.0, 3.0, 0.5])
    scores = np.array([1.0, 3.0, 2.0, 2.5, 0.2])
    assert pareto_front(costs, scores).tolist() == [4, 0, 1]


def test_same_seed_same_suggestions_in_another_process() -> None:
    script = textwrap.dedent("""
        import json, sys
        from runlab.sweep import Protein
        cfg = json.loads(sys.argv[1])
        p = Protein(cfg, seed=11)
        out = []
        for _ in range(9):
            s, info = p.suggest()
            p.observe(s, score=-(s["x"] - 0.3) ** 2 - s["y"], cost=1 + s["x"])
            out.append([s, info["phase"]])
        print(json.dumps(out))
    """)
    cfg = quad_config("maximize")
    runs = [subprocess.run([sys.executable, "-c", script, json.dumps(cfg)], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    phases = [phase for _, phase in json.loads(runs[0])]
    assert "bayes" in phases  # the GP phase is reproducible too, not only the random one
    p = Protein(cfg, seed=11)
    here = []
    for _ in range(9):
        s, info = p.suggest()
        p.observe(s, score=-(s["x"] - 0.3) ** 2 - s["y"], cost=1 + s["x"])
        here.append([s, info["phase"]])
    assert json.loads(runs[0]) == json.loads(json.dumps(here))


def test_grid_enumerates_every_point_once_then_stops() -> None:
    cfg = {"method": "grid", "protein": {"grid_points": 3},
           "parameters": {"n": {"distribution": "int_uniform", "min": 1, "max": 2},
                          "lr": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2},
                          "act": {"values": ["relu", "tanh"]}}}
    p = make_optimizer(cfg)
    assert isinstance(p, GridSearch) and p.grid_size == 2 * 3 * 2
    seen = []
    for _ in range(12):
        s, _ = p.suggest()
        p.observe(s, score=1.0)
        seen.append(json.dumps(s, sort_keys=True))
    assert len(set(seen)) == 12
    assert sorted({p.flat_params(json.loads(x))["lr"] for x in seen}) == pytest.approx([1e-4, 1e-3, 1e-2])
    with pytest.raises(SearchExhaustedError, match="12 points"):
        p.suggest()


def test_make_optimizer_dispatches_on_method() -> None:
    assert type(make_optimizer({**config(), "method": "random"})) is RandomSearch
    assert type(make_optimizer(config())) is Protein
    cfg = load_sweep_config(config())
    assert Protein(cfg).config is cfg and Protein(cfg).config.goal == "maximize"


@settings(max_examples=15, deadline=None)
@given(
    dists=st.lists(st.sampled_from(["uniform", "int_uniform", "log_normal", "uniform_pow2", "logit_normal"]),
                   min_size=1, max_size=4),
    seed=st.integers(0, 10_000),
    goal=st.sampled_from(["maximize", "minimize"]),
)
def test_any_space_gives_valid_suggestions(dists: list[str], seed: int, goal: str) -> None:
    bounds = {"uniform": (-2.0, 3.0), "int_uniform": (0, 6), "log_normal": (1e-4, 1.0),
              "uniform_pow2": (4, 64), "logit_normal": (0.1, 0.9)}
    tree = {f"p{i}": {"distribution": d, "min": bounds[d][0], "max": bounds[d][1]} for i, d in enumerate(dists)}
    p = Protein({"goal": goal, "protein": {"num_random_samples": 3, "random_suggestions": 64,
                                           "suggestions_per_pareto": 16}, "parameters": tree}, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        s, _ = p.suggest()
        assert_plain(s)
        p.observe(s, score=float(rng.normal()), cost=float(rng.uniform(1, 10)))
    assert len(p.observations) == 6


def test_random_phase_is_space_filling() -> None:
    """After the centre, the random phase follows a scrambled Sobol design: its first four
    points fall in four different quarters of each axis, which independent draws rarely do."""
    for seed in range(5):
        cfg = quad_config("maximize", num_random_samples=5)
        for leaf in cfg["parameters"].values():
            leaf["scale"] = 1.0  # the random phase then spans the whole box
        p = Protein(cfg, seed=seed)
        pts = []
        for _ in range(5):
            s, info = p.suggest()
            p.observe(s, score=0.0)
            pts.append((s["x"], s["y"]))
        assert info["phase"] == "random"
        for axis in range(2):
            quarters = {min(int(pt[axis] * 4), 3) for pt in pts[1:]}
            assert len(quarters) == 4, (seed, pts)


def test_gp_phase_is_precise_in_five_dimensions() -> None:
    """Random candidates alone cannot pin an optimum in 5-D; the gradient climb on the
    acquisition can, within a small budget."""
    centre = np.array([0.62, 0.31, 0.45, 0.8, 0.17])
    names = [f"x{i}" for i in range(5)]
    cfg = {"goal": "minimize", "protein": {"num_random_samples": 6},
           "parameters": {n: {"distribution": "uniform", "min": 0.0, "max": 1.0, "scale": 1.0} for n in names}}

    def bowl(s: dict) -> float:
        return float(((np.array([s[n] for n in names]) - centre) ** 2).sum())

    p = Protein(cfg, seed=0)
    r = RandomSearch(cfg, seed=0)
    for _ in range(24):
        for opt in (p, r):
            s, _ = opt.suggest()
            opt.observe(s, score=bowl(s))
    assert bowl(p.best().params) < 1e-3  # type: ignore[union-attr]
    assert bowl(r.best().params) > 10 * bowl(p.best().params)  # type: ignore[union-attr]


def test_when_every_candidate_is_over_the_cap_the_cheapest_is_suggested() -> None:
    p = Protein(quad_config("maximize", max_suggestion_cost=0.5, num_random_samples=6), seed=0)
    for _ in range(12):
        s, info = p.suggest()
        p.observe(s, score=s["x"], cost=1.0 + 100.0 * s["x"])  # dear where the score is good
    assert info["phase"] == "bayes"
    cheapest = min(o.cost for o in p.successes)  # type: ignore[type-var]
    assert info["predicted_cost"] <= cheapest * 1.5
    assert s["x"] < 0.1
