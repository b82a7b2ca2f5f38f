"""compare(): the numbers every output shows, and the `runlab compare` command over a warehouse."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from runlab import stats
from runlab.cli.app import app
from runlab.compare import compare, from_score_dict
from runlab.errors import InputError
from runlab.reports import load_config
from test_report_fixtures import config_task_runs, write


def _scores(seed=0):
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(1.0, 0.3, (6, 4)), "b": rng.normal(0.0, 0.3, (6, 4))}


def test_points_equal_the_array_functions_and_seed_reproduces():
    data = _scores()
    r1 = compare(data, reps=300, seed=7)
    r2 = compare(data, reps=300, seed=7)
    assert r1.estimate("a", "IQM") == r2.estimate("a", "IQM")
    point, lo, hi = r1.estimate("a", "IQM")
    assert point == pytest.approx(stats.iqm(data["a"]), abs=1e-12)
    assert r1.estimate("b", "Median")[0] == pytest.approx(stats.median(data["b"]), abs=1e-12)
    assert lo < point < hi
    assert compare(data, reps=300, seed=8).estimate("a", "IQM")[1] != lo


def test_improvement_and_tests_find_the_clear_winner():
    res = compare(_scores(), reps=300, tests=("welch_t", "mann_whitney", "permutation"), correction="bonferroni")
    row = res.improvement.iloc[0]
    assert (row.method_x, row.method_y) == ("a", "b") and row.probability > 0.9
    assert set(res.tests["test"]) == {"welch_t", "mann_whitney", "permutation"}
    assert res.tests["reject"].all()
    assert (res.tests["p_adjusted"] >= res.tests["p_value"]).all()


def test_minimize_flips_improvement_not_the_estimates():
    data = _scores()
    res = compare(from_score_dict(data, direction="minimize"), reps=200)
    assert res.improvement.iloc[0].probability < 0.1
    assert res.estimate("a", "Mean")[0] == pytest.approx(stats.mean(data["a"]))
    assert res.profile is not None and res.profile.taus[0] > res.profile.taus[-1]


def test_trim_changes_the_iqm_label_and_value():
    data = _scores()
    res = compare(data, reps=100, trim=0.1, aggregates=("iqm",))
    point = res.estimates.iloc[0]
    assert point["aggregate"] == "Trimmed mean (0.1)"
    assert point["estimate"] == pytest.approx(stats.trimmed_mean(data["a"], 0.1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"trim": 0.5}, "trim"), ({"reps": 0}, "reps"), ({"confidence": 1.0}, "confidence"), ({"tests": ("t",)}, "test")],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        compare(_scores(), **kwargs)


def test_one_run_per_method_gives_points_and_says_why_there_are_no_intervals():
    res = compare({"a": np.ones((1, 3)), "b": np.zeros((1, 3))}, reps=10)
    assert res.estimates["estimate"].notna().all() and res.estimates[["lower", "upper"]].isna().all().all()
    assert res.tests.empty and res.improvement["lower"].isna().all()
    assert sum("single run per task" in n for n in res.notes) == 2


def test_config_overrides_and_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("metrics:\n  primary: [reward]\nanalysis:\n  bootstrap_samples: 100\n")
    cfg = load_config(path, ["analysis.confidence_level=0.9", "group_by=algo.name"])
    assert cfg.analysis.bootstrap_samples == 100 and cfg.analysis.confidence_level == 0.9
    with pytest.raises(InputError, match=r"analysis\.bootstrap_sample: Extra inputs"):
        load_config(path, ["analysis.bootstrap_sample=5"])
    with pytest.raises(InputError, match=r"analysis\.confidence_level.*got 2"):
        load_config(path, ["analysis.confidence_level=2"])


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return write(tmp_path_factory.mktemp("wh"), config_task_runs(seeds=5, hostile=True))


def test_cli_prints_estimates_tests_and_notes(home):
    out = CliRunner().invoke(
        app,
        ["--home", str(home), "compare", "metrics.primary=[overview/reward]", "group_by=algo.name",
         "task_by=sim.task", "analysis.bootstrap_samples=200"],
    )
    assert out.exit_code == 0, out.output
    text = out.output
    for needle in ("IQM", "ppo", "dqn", "random", "mann", "welch", "holm", "P(X > Y)", "5 x 3"):
        assert needle in text


def test_cli_bad_config_is_a_clean_error(home, tmp_path):
    out = CliRunner().invoke(app, ["--home", str(home), "compare", "reducer=median", "metrics.primary=[x]"])
    assert out.exit_code == 1
    assert "reducer" in out.output and "Traceback" not in out.output
    out = CliRunner().invoke(app, ["--home", str(home), "compare", str(tmp_path / "missing.yaml")])
    assert out.exit_code == 1 and "does not exist" in out.output


def test_secondary_metrics_are_summarised_when_tasks_come_from_a_metric_regex(tmp_path):
    """A metric-regex task_by selects the primary metrics; secondary metrics still get a summary."""
    from runlab.reports import analyse, validate_config
    from runlab.warehouse import Warehouse
    from test_report_fixtures import run

    records = [
        run(f"{m}-{s}", f"{m}_{s}", {"algo": {"name": m}, "seed": s},
            {"eval_nav/maze": [0.0, level + 0.1 * s], "eval_nav/arena": [0.0, level],
             "overview/sps": [100.0 * (s + 1), 100.0 * (s + 1)]})
        for m, level in {"ppo": 1.0, "dqn": 0.5}.items() for s in range(5)
    ]
    write(tmp_path, records)
    cfg = validate_config({"group_by": "algo.name", "task_by": r"eval_(?P<suite>[^/]+)/(?P<task>.+)",
                           "metrics": {"secondary": ["overview/sps"]}, "analysis": {"bootstrap_samples": 200}})
    with Warehouse.open(tmp_path, read_only=True) as wh:
        analysis = analyse(wh, cfg)
    assert not [n for n in analysis.notes if "overview/sps" in n]
    sps = analysis.secondary.set_index("method")
    assert sps.loc["ppo", "n"] == 5 and sps.loc["ppo", "mean"] == 300.0


def test_a_method_with_one_run_per_task_keeps_its_point_and_loses_only_its_intervals():
    rng = np.random.default_rng(5)
    data = {"a": rng.normal(1.0, 0.3, (6, 4)), "b": rng.normal(0.0, 0.3, (6, 4)), "solo": rng.normal(0.5, 0.3, (1, 4))}
    res = compare(data, reps=300, seed=1)
    solo = res.estimates[res.estimates["method"] == "solo"].set_index("aggregate")
    assert solo.loc["IQM", "estimate"] == pytest.approx(stats.iqm(data["solo"]), abs=1e-12)
    assert solo.loc["Mean", "estimate"] == pytest.approx(stats.mean(data["solo"]), abs=1e-12)
    assert solo[["lower", "upper"]].isna().all().all()
    others = res.estimates[res.estimates["method"] != "solo"]
    assert others[["lower", "upper"]].notna().all().all()
    assert any("'solo' has a single run per task" in n for n in res.notes)
    pair = res.improvement[(res.improvement.method_x == "a") & (res.improvement.method_y == "solo")].iloc[0]
    assert pair.probability == pytest.approx(stats.probability_of_improvement(data["a"], data["solo"]))
    assert np.isnan(pair.lower) and np.isnan(pair.upper)
    assert "solo" not in set(res.tests["method_x"]) | set(res.tests["method_y"])
    assert len(res.tests) > 0
    assert res.profile is not None and np.isnan(res.profile.intervals["solo"]).all()
    np.testing.assert_allclose(res.profile.points["solo"],
                               (data["solo"].ravel()[None, :] > (res.profile.taus)[:, None]).mean(axis=1))
