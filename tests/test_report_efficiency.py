"""Sample-efficiency curves in the report: values, bands, x range, normalisation, every format.

Warehouses are built from RunRecords with known curves logged against ``metric/agent_step`` at
run-specific spacings, so the report's grid never coincides with logged points and its linear
resampling is checked against :func:`runlab.frames.tidy_frame` (DuckDB) and ``runlab.stats``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab import stats
from runlab.errors import InputError
from runlab.frames import tidy_frame
from runlab.reports import analyse, build_report, validate_config
from runlab.warehouse import Warehouse
from test_report_fixtures import HOSTILE, run, write

REGEX = r"eval_(?P<suite>[^/]+)/(?P<task>.+)"
TASKS = ("t1", "t2", "t3")
OPTIMAL = {"suite/t1": 10.0, "suite/t2": 20.0, "suite/t3": 40.0}
LEVEL = {"fast": 0.9, "slow": 0.5}


def eval_runs(
    *, seeds: int = 5, points: int = 12, seed: int = 0, equal_ends: bool = False, hostile: bool = False,
    nan_run: bool = False,
) -> list:
    """Per (method, seed): every task's eval curve ``opt * level * (1 - exp(-x / 4000))`` + noise.

    Each run logs ``metric/agent_step`` with its own spacing (so ends differ unless ``equal_ends``),
    plus ``overview/reward`` (the same curve on the first task, for the primary-metric path).
    """
    rng = np.random.default_rng(seed)
    out = []
    for method, level in LEVEL.items():
        for s in range(seeds):
            spacing = 1000.0 if equal_ends else 1000.0 * (1 + 0.07 * s) + (50.0 if method == "slow" else 0.0)
            x = spacing * np.arange(1, points + 1)
            curves: dict[str, list[float]] = {"metric/agent_step": list(x)}
            for t in TASKS:
                y = OPTIMAL[f"suite/{t}"] * level * (1 - np.exp(-x / 4000)) + rng.normal(0, 0.3, points)
                if nan_run and not out and t == "t1":
                    y[3] = np.nan
                curves[f"eval_suite/{t}"] = list(y)
            curves["overview/reward"] = curves["eval_suite/t1"]
            name = HOSTILE if hostile and not out else f"{method}-{s}"
            cfg = {"algo": {"name": method}, "sim": {"task": "only"}, "seed": s}
            out.append(run(f"{method}-{s}", name, cfg, curves))
    return out


def base_config(**extra) -> dict:
    cfg = {
        "title": "efficiency",
        "group_by": "algo.name",
        "task_by": REGEX,
        "optimal_scores": OPTIMAL,
        "analysis": {"bootstrap_samples": 400, "seed": 3},
        "sample_efficiency": {"points": 9},
    }
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("wh"), eval_runs())


@pytest.fixture(scope="module")
def analysis(home):
    with Warehouse.open(home, read_only=True) as wh:
        return analyse(wh, validate_config(base_config()))


def independent_resample(home: Path, grid: np.ndarray) -> pd.DataFrame:
    """Normalised task scores of every run at the grid points, through the tidy frame (DuckDB)."""
    with Warehouse.open(home, read_only=True) as wh:
        frame = tidy_frame(
            wh, metrics=["eval_*"], x_axis="metric/agent_step", interpolation="linear", grid=list(grid), task=REGEX
        )
    frame["task"] = frame["suite"] + "/" + frame["task"]
    frame["method"] = frame["algo.name"] if "algo.name" in frame else frame["run_name"].str.split("-").str[0]
    frame["norm"] = frame["score"] / frame["task"].map(OPTIMAL)
    return frame


def test_grid_spans_the_range_every_run_reached(analysis):
    curve = analysis.efficiency[REGEX]
    ends = [1000.0 * (1 + 0.07 * s) * 12 + (50.0 * 12 if m == "slow" else 0.0) for m in LEVEL for s in range(5)]
    starts = [1000.0 * (1 + 0.07 * s) + (50.0 if m == "slow" else 0.0) for m in LEVEL for s in range(5)]
    assert len(curve.x) == 9
    assert curve.x[0] == pytest.approx(max(starts)) and curve.x[-1] == pytest.approx(min(ends))
    assert np.allclose(np.diff(curve.x), np.diff(curve.x)[0])
    cut = [n for n in curve.notes if "went further" in n]
    longer = 3 * sum(e > min(ends) for e in ends)  # one curve per run and task
    assert cut and f"{longer} of 30" in cut[0] and f"{max(ends):,.6g}" in cut[0]
    assert any("started earlier" in n for n in curve.notes)


def test_iqm_at_each_point_equals_stats_iqm_of_independently_resampled_scores(home, analysis):
    curve = analysis.efficiency[REGEX]
    frame = independent_resample(home, curve.x)
    assert frame["norm"].notna().all()
    for method in LEVEL:
        sub = frame[frame["run_name"].str.startswith(method)]
        for k, x in enumerate(curve.x):
            at = sub[np.isclose(sub["step"], x)].pivot(index="run_id", columns="task", values="norm")
            assert at.shape == (5, 3)
            assert curve.points[method][k] == pytest.approx(stats.iqm(at.to_numpy()), abs=1e-9)
    assert curve.aggregate == "IQM" and curve.n_runs == {"fast": 5, "slow": 5}


def test_bands_contain_points_and_separate_methods(analysis):
    curve = analysis.efficiency[REGEX]
    for m in LEVEL:
        lo, hi = curve.intervals[m]
        assert np.all(lo <= curve.points[m] + 1e-12) and np.all(curve.points[m] <= hi + 1e-12)
        assert np.all(hi - lo > 0)
    # Known curves: fast (level 0.9) beats slow (0.5) clearly at the end, and both rise over training.
    assert curve.intervals["fast"][0, -1] > curve.intervals["slow"][1, -1]
    assert curve.points["fast"][-1] == pytest.approx(0.9 * (1 - np.exp(-curve.x[-1] / 4000)), abs=0.05)
    assert all(curve.points[m][-1] > curve.points[m][0] for m in LEVEL)


def test_same_seed_same_bands_and_reps_from_the_config(home, analysis):
    with Warehouse.open(home, read_only=True) as wh:
        again = analyse(wh, validate_config(base_config()))
        other = analyse(wh, validate_config(base_config(analysis={"bootstrap_samples": 400, "seed": 4})))
    a, b, c = (x.efficiency[REGEX] for x in (analysis, again, other))
    assert np.array_equal(a.intervals["fast"], b.intervals["fast"])
    assert not np.array_equal(a.intervals["fast"], c.intervals["fast"])
    assert np.array_equal(a.points["fast"], c.points["fast"])


@pytest.mark.parametrize(
    "extra",
    [
        {"reducer": "last"},
        {"reducer": "last", "optimal_scores": None, "normalize": "minmax"},
        {"reducer": "last", "optimal_scores": None, "normalize": "zscore"},
        {"reducer": "last", "optimal_scores": None, "task_by": "sim.task", "metrics": {"primary": ["overview/reward"]}},
        {"reducer": "last", "optimal_scores": None, "task_by": None, "direction": "minimize",
         "metrics": {"primary": ["overview/reward"]}, "sample_efficiency": {"aggregate": "mean", "points": 5}},
    ],
    ids=["regex-optimal", "minmax", "zscore", "config-task", "one-task-minimize-mean"],
)
def test_last_point_lands_on_the_comparison_scores(tmp_path, extra):
    """With equal run ends, the curve's last point is the comparison under reducer=last."""
    home = write(tmp_path, eval_runs(equal_ends=True, seeds=4))
    with Warehouse.open(home, read_only=True) as wh:
        a = analyse(wh, validate_config(base_config(**extra)))
    (name, res), = a.results.items()
    curve = a.efficiency[name]
    assert not [n for n in curve.notes if "cut" in n or "earlier" in n]
    last = curve.scores[curve.scores["x"] == curve.x[-1]].set_index(["run_id", "task"])["score"]
    matrix = res.matrix.to_frame().set_index(["run_id", "task"])["score"]
    assert len(last) == len(matrix)
    assert np.allclose(last.sort_index().to_numpy(), matrix.sort_index().to_numpy(), atol=1e-9)
    label = curve.aggregate
    for m in res.matrix.methods:
        assert curve.points[m][-1] == pytest.approx(res.estimate(m, label)[0], abs=1e-9)


def test_trim_setting_turns_the_iqm_into_that_trimmed_mean(home):
    with Warehouse.open(home, read_only=True) as wh:
        a = analyse(wh, validate_config(base_config(analysis={"bootstrap_samples": 50, "iqm_trim_percentage": 0.1})))
    curve = a.efficiency[REGEX]
    assert curve.aggregate == "Trimmed mean (0.1)"
    frame = independent_resample(home, curve.x)
    sub = frame[frame["run_name"].str.startswith("slow") & np.isclose(frame["step"], curve.x[4])]
    at = sub.pivot(index="run_id", columns="task", values="norm").to_numpy()
    assert curve.points["slow"][4] == pytest.approx(stats.trimmed_mean(at, 0.1), abs=1e-9)


def test_nan_values_are_skipped_like_the_comparison_does(tmp_path):
    records = eval_runs(nan_run=True, seeds=3)
    home = write(tmp_path, records)
    with Warehouse.open(home, read_only=True) as wh:
        a = analyse(wh, validate_config(base_config(sample_efficiency={"points": 40})))
    curve = a.efficiency[REGEX]
    assert all(np.isfinite(p).all() for p in curve.points.values())
    first = records[0]
    hist = first.history.to_pandas()
    x = hist[hist["metric"] == "metric/agent_step"]["value"].to_numpy()
    y = hist[hist["metric"] == "eval_suite/t1"]["value"].to_numpy()
    ok = np.isfinite(y)
    got = curve.scores[(curve.scores["run_id"] == first.run_id) & (curve.scores["task"] == "suite/t1")]
    assert np.allclose(got["score"], np.interp(got["x"], x[ok], y[ok]) / OPTIMAL["suite/t1"])


def test_missing_x_axis_leaves_the_curves_out_with_a_note_naming_the_fix(home):
    with Warehouse.open(home, read_only=True) as wh:
        a = analyse(wh, validate_config(base_config(sample_efficiency={"x_axis": "metric/epoch"})))
        b = analyse(wh, validate_config(base_config(sample_efficiency={"x_axis": "_step", "points": 4})))
    assert not a.efficiency
    assert any("'metric/epoch'" in n and "sample_efficiency.x_axis=_step" in n for n in a.notes)
    curve = b.efficiency[REGEX]
    assert curve.x_axis == "_step" and curve.x[0] == 0 and curve.x[-1] == 110  # fixture steps 0, 10, ... 110


def test_disabled_means_no_curves_and_no_note(home, tmp_path):
    with Warehouse.open(home, read_only=True) as wh:
        files = build_report(wh, base_config(sample_efficiency={"enabled": False}), tmp_path, notebook=False)
    assert not (tmp_path / "figures" / "0_efficiency.png").exists()
    assert "Sample efficiency" not in files.html.read_text(encoding="utf-8")
    meta = json.loads((tmp_path / "data" / "report.json").read_text())
    assert meta["comparisons"][REGEX]["efficiency"] is None and not meta["notes"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"points": 1}, "sample_efficiency.points"),
        ({"x_axis": ""}, "sample_efficiency.x_axis"),
        ({"x_axis": "metric/agent_step\n"}, "sample_efficiency.x_axis"),
        ({"aggregate": "max"}, "sample_efficiency.aggregate"),
        ({"point": 20}, "sample_efficiency.point"),
    ],
)
def test_bad_settings_fail_naming_the_field(override, field):
    with pytest.raises(InputError, match=re.escape(field)):
        validate_config(base_config(sample_efficiency=override))


@settings(max_examples=15, deadline=None)
@given(shift=st.floats(-50, 50), perm_seed=st.integers(0, 2**16))
def test_mean_curve_is_the_mean_of_the_resampled_scores(analysis, shift, perm_seed):
    """Property of the stored data: each point is the aggregate of its (any-order, shifted) scores."""
    curve = analysis.efficiency[REGEX]
    scores = curve.scores
    rng = np.random.default_rng(perm_seed)
    for m in LEVEL:
        sub = scores[scores["method"] == m]
        k = int(rng.integers(len(curve.x)))
        vals = sub[sub["x"] == curve.x[k]].pivot(index="run_id", columns="task", values="score").to_numpy()
        vals = vals[rng.permutation(len(vals))]
        assert stats.iqm(vals + shift) == pytest.approx(curve.points[m][k] + shift, abs=1e-9)


def test_every_format_shows_the_curves_and_a_hostile_name_stays_inert(tmp_path_factory):
    home = write(tmp_path_factory.mktemp("wh"), eval_runs(hostile=True, seeds=3))
    out = tmp_path_factory.mktemp("report")
    with Warehouse.open(home, read_only=True) as wh:
        files = build_report(wh, base_config(), out)
    png = out / "figures" / "0_efficiency.png"
    assert png in files.figures and png.stat().st_size > 5000
    html = files.html.read_text(encoding="utf-8")
    section = html[html.index("<h2>Sample efficiency: "):]
    section = section[: section.index("</section>")]
    assert "IQM at the last grid point (metric/agent_step = " in section
    assert section.count("<tr>") == 3 and "data:image/png;base64," in section and "went further" in section
    assert "<script>document" not in html and "&lt;script&gt;document" in html
    curves = pd.read_csv(out / "csv" / "efficiency.csv")
    assert list(curves.columns) == ["method", "x", "point", "lower", "upper", "comparison"]
    assert len(curves) == 2 * 9 and set(curves["comparison"]) == {REGEX}
    runs = pd.read_parquet(out / "data" / "efficiency_scores.parquet")
    assert HOSTILE in set(runs["run_name"]) and len(runs) == 6 * 3 * 9
    meta = json.loads((out / "data" / "report.json").read_text())["comparisons"][REGEX]["efficiency"]
    assert meta["x_axis"] == "metric/agent_step" and meta["points"] == 9 and meta["aggregate"] == "IQM"
    assert meta["x_max"] == pytest.approx(curves["x"].max()) and meta["n_runs"] == {"fast": 3, "slow": 3}
    nb = nbformat.read(files.notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(HOSTILE in c.source or "fast-" in c.source for c in code)
    cell = next(c for c in code if "plot_sample_efficiency" in c.source)
    kinds = [o.output_type for o in cell.outputs]
    assert "error" not in kinds and any("image/png" in o.get("data", {}) for o in cell.outputs)
    assert any("went further" in o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_regex_comparison_is_titled_by_its_readable_pattern_everywhere(home, tmp_path):
    from runlab.reports import build_report

    with Warehouse.open(home, read_only=True) as wh:
        files = build_report(wh, validate_config(base_config()), tmp_path / "out", notebook=False)
    html = files.html.read_text()
    assert "Comparison: eval_&lt;suite&gt;/&lt;task&gt;" in html and "Comparison: eval_(?P" not in html
    tex = "".join(p.read_text() for p in files.latex)
    assert "(?P<" not in tex and "eval" in tex
    runs = pd.read_csv(files.out_dir / "csv" / "runs.csv")
    assert "score: eval_<suite>/<task>" in runs.columns
