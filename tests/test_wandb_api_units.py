"""Property tests of the collector's pure parts: glob translation, long-form history, run filters."""

from __future__ import annotations

import math
import re
from fnmatch import fnmatchcase

from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.sources._wandb_convert import HistoryBuilder, get_path
from runlab.sources._wandb_metrics import MetricGroups, resolve
from runlab.sources._wandb_select import build_filters, glob_to_regex
from wandb_server import matches

NAME_CHARS = st.sampled_from(list("ab_./+()$^|{}-1🚀"))


@given(st.text(NAME_CHARS, max_size=12), st.lists(st.one_of(NAME_CHARS, st.sampled_from(["*", "?"])), max_size=8))
@settings(max_examples=300, deadline=None)
def test_glob_regex_agrees_with_fnmatch(name: str, pattern_chars: list[str]) -> None:
    pattern = "".join(pattern_chars)
    assert (re.search(glob_to_regex(pattern), name) is not None) == fnmatchcase(name, pattern)


ROW_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**6, 10**6),
    st.none(),
    st.sampled_from(["NaN", "Infinity", "-Infinity", {"_type": "histogram"}]),
)


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c/d", "e"]), ROW_VALUES, max_size=4), max_size=30))
@settings(max_examples=200, deadline=None)
def test_sparse_rows_are_never_dropped(rows: list[dict]) -> None:
    """Every scalar value of every row becomes exactly one long-form row, whatever keys a row lacks."""
    builder = HistoryBuilder(None)
    expected: dict[tuple[int, str], float] = {}
    for step, row in enumerate(rows):
        builder.add({"_step": step, **row})
        for k, v in row.items():
            if isinstance(v, int | float) or v in ("NaN", "Infinity", "-Infinity"):
                expected[(step, k)] = float(v)
    table = builder.table()
    got = {(s, m): v for s, m, v in zip(*(table.column(c).to_pylist() for c in ("step", "metric", "value")),
                                        strict=True)}
    assert got.keys() == expected.keys()
    for key, v in expected.items():
        assert (math.isnan(v) and math.isnan(got[key])) or got[key] == v


def test_repeated_steps_merge_later_values_win() -> None:
    builder = HistoryBuilder({"a", "b"})
    builder.extend([{"_step": 0, "a": 1.0, "b": None}, {"_step": 0, "a": 2.0, "z": 5.0}, {"_step": 1, "b": 3}])
    table = builder.table()
    assert table.to_pylist() == [
        {"step": 0, "metric": "a", "value": 2.0},
        {"step": 1, "metric": "b", "value": 3.0},
    ]


def test_groups_globs_and_x_axes_resolve_against_run_keys() -> None:
    groups = MetricGroups()
    groups.add("training_progress", ["trainer/loss", "trainer/entropy"])
    requests = groups.expand(["@training_progress", "env_agent/*", "@training_progress"])
    keys = ["trainer/loss", "env_agent/a", "env_agent/a.std_dev", "overview/reward", "metric/agent_step", "_step"]
    assert resolve(requests, keys) == {"trainer/loss", "env_agent/a", "env_agent/a.std_dev", "metric/agent_step"}


def test_config_paths_nested_and_flat() -> None:
    cfg = {"trainer": {"optimizer": {"lr": 1e-3}}, "sim.task": "nav", "env": {"game.max_steps": 100}}
    assert get_path(cfg, "trainer.optimizer.lr") == 1e-3
    assert get_path(cfg, "sim.task") == "nav"
    assert get_path(cfg, "env.game.max_steps") == 100


RUNS = [
    {"display_name": "sky_1", "tags": ["sky", "v2"], "group": "g", "state": "finished",
     "createdAt": "2025-03-01T00:00:00", "config": {"seed": 1, "opt": {"lr": 0.1}}},
    {"display_name": "base", "tags": [], "group": None, "state": "crashed",
     "createdAt": "2025-01-01T00:00:00", "config": {"seed": 2}},
]


def test_filter_evaluator_on_combined_selection() -> None:
    flt = build_filters(pattern="sky_*", tags=["v2"], state="finished", since="2025-02-01")
    assert [r["display_name"] for r in RUNS if matches(r, flt)] == ["sky_1"]
    assert [r["display_name"] for r in RUNS if matches(r, {"config.opt.lr.value": {"$gt": 0.05}})] == ["sky_1"]
    assert [r["display_name"] for r in RUNS if matches(r, {"$nor": [{"tags": "sky"}]})] == ["base"]
    assert [r["display_name"] for r in RUNS if matches(r, {"config.opt": {"$exists": False}})] == ["base"]
