"""RunLabeler: each rule kind, precedence, persistence, re-application."""

from __future__ import annotations

import pytest

from runlab.errors import InputError, NotFoundError
from runlab.labels import RunLabeler, labels_frame


@pytest.fixture
def runs(wh, make_record):
    for rid, name, algo in [("w:e/p/1", "sky_ppo_baseline", "ppo"), ("w:e/p/2", "sky_sac_1", "sac"),
                            ("w:e/p/3", "sky_sac_baseline", "sac"), ("w:e/p/4", "other", None)]:
        cfg = {"trainer": {"algorithm": algo}} if algo else {}
        wh.upsert_run(make_record(rid, name=name, config=cfg, summary={"score": len(name)}))
    return wh


def by_name(frame, column):
    return dict(zip(frame["run_name"], frame[column], strict=True))


def test_config_rule(runs):
    f = RunLabeler().add_config_rule("trainer.algorithm", label_column="method").apply(runs)
    got = by_name(f, "method")
    assert got["sky_ppo_baseline"] == "ppo" and got["sky_sac_1"] == "sac" and got["other"] != got["other"]  # NaN


def test_default_column_is_last_path_part(runs):
    f = RunLabeler().add_config_rule("trainer.algorithm").apply(runs)
    assert "algorithm" in f.columns


def test_pattern_glob_and_regex(runs):
    lab = RunLabeler().add_pattern_rule("*_baseline", label="baseline")
    lab.add_pattern_rule("re:sac_\\d+$", label="sac-numbered", column="kind")
    f = lab.apply(runs)
    assert by_name(f, "label") == {"sky_ppo_baseline": "baseline", "sky_sac_1": by_name(f, "label")["sky_sac_1"],
                                   "sky_sac_baseline": "baseline", "other": by_name(f, "label")["other"]}
    assert by_name(f, "kind")["sky_sac_1"] == "sac-numbered"
    with pytest.raises(InputError, match="not a valid regex"):
        RunLabeler().add_pattern_rule("re:(", label="x")


def test_precedence_manual_function_pattern_config(runs):
    lab = (RunLabeler()
           .add_config_rule("trainer.algorithm", label_column="method")
           .add_pattern_rule("*_baseline", label="pattern", column="method")
           .add_function_rule(lambda r: "function" if r["summary"]["score"] > 10 else None, column="method")
           .add_manual_labels({"sky_ppo_baseline": "manual"}, column="method"))
    got = by_name(lab.apply(runs), "method")
    assert got == {"sky_ppo_baseline": "manual", "sky_sac_1": "sac", "sky_sac_baseline": "function",
                   "other": got["other"]}
    origins = runs.labels(all_origins=True)
    assert set(origins["origin"]) == {"manual", "function", "pattern", "config"}


def test_later_rule_of_same_kind_wins(runs):
    lab = RunLabeler().add_pattern_rule("sky_*", label="sky").add_pattern_rule("*_baseline", label="base")
    got = by_name(lab.apply(runs), "label")
    assert got["sky_sac_1"] == "sky" and got["sky_sac_baseline"] == "base"


def test_labels_persist_and_reapply_leaves_no_stale(runs, make_record):
    RunLabeler().add_config_rule("trainer.algorithm", label_column="method").apply(runs)
    runs.upsert_run(make_record("w:e/p/2", name="sky_sac_1", config={}))  # config lost its algorithm
    RunLabeler().add_config_rule("trainer.algorithm", label_column="method").apply(runs)
    got = by_name(labels_frame(runs), "method")
    assert got["sky_ppo_baseline"] == "ppo" and got["sky_sac_1"] != got["sky_sac_1"]


def test_manual_labels_by_unknown_ref_fail_cleanly(runs):
    with pytest.raises(NotFoundError):
        RunLabeler().add_manual_labels({"no_such_run": "x"}).apply(runs)
    assert runs.labels().empty
    with pytest.raises(InputError):
        RunLabeler().add_function_rule("not callable", column="c")  # type: ignore[arg-type]
