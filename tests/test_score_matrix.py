"""score_matrix: from warehouse or tidy frame to per-method (runs x tasks) arrays, nothing lost silently."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.compare import IncompleteDataWarning, compare, from_score_dict, score_matrix
from runlab.errors import InputError
from runlab.warehouse import Warehouse
from test_report_fixtures import config_task_runs, run, write


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    home = write(tmp_path_factory.mktemp("wh"), config_task_runs(seeds=3))
    with Warehouse.open(home, read_only=True) as w:
        yield w


def test_config_tasks_from_warehouse(wh):
    m = score_matrix(wh, "overview/reward", group_by="algo.name", task_by="sim.task")
    assert m.methods == ["dqn", "ppo", "random"]
    assert m.tasks == ["arena", "key-door", "maze"]
    assert all(s.shape == (3, 3) for s in m.scores.values())
    assert m.missing.is_complete
    # every cell holds the last reward of the run it names, and that run has the right method and task
    for method, ids in m.run_ids.items():
        for (i, j), rid in np.ndenumerate(ids):
            stored = wh.history([rid], ["overview/reward"])
            assert m.scores[method][i, j] == pytest.approx(stored.sort_values("step")["value"].iloc[-1])
            assert f"/{method}-{m.tasks[j]}-" in rid


def test_label_wins_over_config_path(tmp_path):
    home = write(tmp_path, config_task_runs(seeds=2, tasks=("maze",)))
    with Warehouse.open(home) as w:
        w.set_labels({"wandb:ent/proj/ppo-maze-0": {"algo.name": "renamed"}})
        m = score_matrix(w, "overview/reward", group_by="algo.name")
    assert set(m.methods) == {"dqn", "ppo", "random", "renamed"}
    assert m.scores["ppo"].shape == (1, 1)
    assert m.tasks == ["overview/reward"]


def _tidy(values, steps=None, method="a", task="t", run_id="r1"):
    steps = steps if steps is not None else [10 * i for i in range(len(values))]
    return pd.DataFrame(
        {"run_id": run_id, "run_name": run_id, "step": steps, "reward": values, "method": method, "task": task}
    )


@pytest.mark.parametrize(
    ("reducer", "expected"),
    [("last", 3.0), ("max", 5.0), ("last_n_mean", 2.0), ("auc", (0 + 5) / 2 * 1 / 3 + (5 + 1) / 2 * 1 / 3 + (1 + 3) / 2 / 3)],
)
def test_reducers_on_known_curve(reducer, expected):
    frame = _tidy([0.0, 5.0, 1.0, 3.0])
    m = score_matrix(frame, "reward", group_by="method", reducer=reducer, n=2)
    assert m.scores["a"][0, 0] == pytest.approx(expected)


def test_nonfinite_values_are_skipped_and_counted():
    # In a wide tidy frame NaN means "not logged at this step"; inf is a logged value.
    frame = _tidy([1.0, 2.0, np.nan, np.inf])
    m = score_matrix(frame, "reward", group_by="method")
    assert m.scores["a"][0, 0] == 2.0
    assert m.missing.nonfinite_values == 1
    assert any("NaN/inf" in line for line in m.missing.lines())


def test_logged_nan_in_the_warehouse_is_skipped_and_counted(tmp_path):
    home = write(tmp_path, [run("r", "r", {"m": "a"}, {"reward": [1.0, 4.0, float("nan"), float("-inf")]})])
    with Warehouse.open(home, read_only=True) as w:
        m = score_matrix(w, "reward", group_by="m", reducer="max")
    assert m.scores["a"][0, 0] == 4.0
    assert m.missing.nonfinite_values == 2


def test_run_without_finite_value_and_without_group_are_reported():
    frame = pd.concat(
        [
            _tidy([1.0, 2.0], run_id="ok"),
            _tidy([np.nan, np.nan], run_id="allnan"),
            _tidy([1.0], run_id="nogroup", method=None),
        ]
    )
    m = score_matrix(frame, "reward", group_by="method")
    assert m.missing.runs_without_score == ["allnan"]
    assert m.missing.runs_without_group == ["nogroup"]
    assert not m.missing.is_complete


def test_regex_tasks_with_suite_prefix(tmp_path):
    records = [
        run(f"{m}{s}", f"{m}{s}", {"algo": m}, {"eval_nav/maze": [s, s + 1.0], "eval_nav/door": [0, 2.0 * s], "other": [1]})
        for m in ("x", "y")
        for s in range(3)
    ]
    home = write(tmp_path, records)
    with Warehouse.open(home, read_only=True) as w:
        m = score_matrix(w, None, group_by="algo", task_by=r"eval_(?P<suite>[^/]+)/(?P<task>.+)")
    assert m.tasks == ["nav/door", "nav/maze"]
    np.testing.assert_allclose(m.scores["x"], [[0.0, 1.0], [2.0, 2.0], [4.0, 3.0]])
    assert (m.run_ids["y"][:, 0] == m.run_ids["y"][:, 1]).all()  # one run per row


def test_missing_task_reported_and_left_out_with_a_note():
    frame = pd.concat(
        [_tidy([float(i)], run_id=f"a{i}{t}", method="a", task=t) for i in range(3) for t in ("t1", "t2")]
        + [_tidy([float(i)], run_id=f"b{i}", method="b", task="t1") for i in range(3)]
    )
    m = score_matrix(frame, "reward", group_by="method", task_by="task")
    assert m.missing.missing_cells == [("b", "t2")]
    assert "method 'b' has no runs for task(s): 't2'" in m.missing.lines()
    assert np.isnan(m.scores["b"][:, 1]).all()
    with pytest.warns(IncompleteDataWarning, match="'t2'"):
        res = compare(m, reps=50, tests=("welch_t",))
    assert res.tasks == ["t1"]
    assert any("'t2'" in n for n in res.notes)


def test_unequal_run_counts_are_truncated_with_a_note():
    frame = pd.concat(
        [_tidy([float(i)], run_id=f"a{i}", method="a", task="t1") for i in range(4)]
        + [_tidy([float(i)], run_id=f"a{i}x", method="a", task="t2") for i in range(3)]
    )
    m = score_matrix(frame, "reward", group_by="method", task_by="task")
    data, tasks, notes = m.rectangular()
    assert data["a"].shape == (3, 2) and tasks == ["t1", "t2"]
    assert any("1 score(s)" in n for n in notes)


def test_minimize_minmax_orients_best_to_one():
    frame = pd.concat([_tidy([v], run_id=f"r{v}", method=m) for v, m in ((1.0, "good"), (3.0, "mid"), (5.0, "bad"))])
    m = score_matrix(frame, "reward", group_by="method", direction="minimize", normalize="minmax")
    assert m.scores["good"][0, 0] == 1.0 and m.scores["bad"][0, 0] == 0.0 and m.scores["mid"][0, 0] == 0.5
    assert m.higher_is_better
    assert m.raw_scores is not None and m.raw_scores["bad"][0, 0] == 5.0


def test_optimal_scores_imply_normalisation_and_must_cover_every_task():
    frame = pd.concat([_tidy([v], run_id=f"r{v}", task=t) for v, t in ((50.0, "t1"), (0.5, "t2"))])
    m = score_matrix(frame, "reward", group_by="method", task_by="task", optimal_scores={"t1": 100.0, "t2": 1.0})
    assert m.normalize == "optimal"
    np.testing.assert_allclose(m.scores["a"], [[0.5, 0.5]])
    with pytest.raises(InputError, match="'t2'"):
        score_matrix(frame, "reward", group_by="method", task_by="task", optimal_scores={"t1": 100.0})


def test_all_equal_scores_cannot_be_minmax_normalised():
    frame = pd.concat([_tidy([2.0], run_id=f"r{i}") for i in range(3)])
    with pytest.raises(InputError, match="all scores are equal"):
        score_matrix(frame, "reward", group_by="method", normalize="minmax")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reducer": "mean"}, "reducer must be one of"),
        ({"direction": "up"}, "direction must be one of"),
        ({"task_by": "(?P<task>.+)"}, "metric must be None"),
        ({"group_by": "nope"}, "group_by 'nope' is not a column"),
        ({"reducer": "last_n_mean", "n": 0}, "n must be a positive integer"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, match):
    args = {"group_by": "method", **kwargs}
    with pytest.raises(InputError, match=match):
        score_matrix(_tidy([1.0]), "reward", **args)


def test_from_score_dict_refuses_nan():
    with pytest.raises(InputError, match="finite"):
        from_score_dict({"a": np.array([[1.0, np.nan]])})


@settings(max_examples=25, deadline=None)
@given(st.permutations(list(range(6))), st.lists(st.floats(-100, 100), min_size=6, max_size=6))
def test_row_order_of_the_frame_does_not_matter(order, finals):
    frame = pd.concat(
        [_tidy([0.0, v], run_id=f"r{i}", method="ab"[i % 2], task=f"t{i % 3}") for i, v in enumerate(finals)]
    )
    shuffled = pd.concat([frame.iloc[2 * k : 2 * k + 2] for k in order])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = score_matrix(frame, "reward", group_by="method", task_by="task")
        b = score_matrix(shuffled, "reward", group_by="method", task_by="task")
    for method in a.scores:
        np.testing.assert_array_equal(a.scores[method], b.scores[method])
        np.testing.assert_array_equal(a.run_ids[method], b.run_ids[method])


def test_one_vocabulary_zscore_and_corrections_agree_across_layers() -> None:
    """``normalize_score_dict("zscore")`` and ``score_matrix(normalize="zscore")`` give the same
    numbers, and ``bh`` is accepted by ``compare`` as by ``pairwise_tests``."""
    import pandas as pd

    from runlab import stats
    from runlab.compare import compare, score_matrix

    rng = np.random.default_rng(3)
    rows = [
        {"run_id": f"{m}{i}", "step": 0, "reward": float(v), "method": m, "task": "t"}
        for m in ("a", "b") for i, v in enumerate(rng.normal(size=5) + (m == "b"))
    ]
    frame = pd.DataFrame(rows)
    m = score_matrix(frame, "reward", group_by="method", normalize="zscore")
    raw = {k: v for k, v in m.raw_scores.items()}
    z = stats.normalize_score_dict(raw, "zscore")
    for k in raw:
        np.testing.assert_allclose(m.scores[k], z[k], rtol=1e-12)
    res = compare(m, reps=50, tests=("welch_t",), correction="bh", profile_points=0)
    direct = stats.pairwise_tests(m.oriented(res.score_dict), test="welch_t", correction="fdr_bh")
    assert res.tests["p_adjusted"].tolist() == [r.pvalue_adjusted for r in direct]
    assert res.settings["correction"] == "fdr_bh"
