"""Grouping runs as W&B users do (run group, job type, tags, a name pattern) and errors that name
the real cause of an empty comparison."""

from __future__ import annotations

import numpy as np
import pytest

from runlab.compare import compare, score_matrix
from runlab.errors import InputError, NotFoundError


@pytest.fixture
def project(wh, make_record):
    rng = np.random.default_rng(0)
    for algo, shift in (("ppo", 1.0), ("sac", 0.0)):
        for seed in range(4):
            series = {"overview/reward": [(s, float(shift + rng.normal() + s / 10)) for s in range(5)],
                      "eval_cartpole/light": [(4, float(shift + rng.normal()))],
                      "eval_cartpole/heavy": [(4, float(shift + rng.normal()))]}
            wh.upsert_run(make_record(
                f"w:e/p/{algo}{seed}", series, name=f"{algo}_lr3e-4_seed{seed}", group=f"{algo}-group",
                job_type=f"train-{algo}", tags=[algo, "cartpole"],
                config={"trainer": {"algorithm": algo}, "seed": seed, "env": {"name": "cartpole"}}))
    return wh


@pytest.mark.parametrize("group_by", ["group", "job_type", "tags", r"name:(.+)_seed\d+",
                                      r"name:^(?P<group>[a-z]+)_", "trainer.algorithm"])
def test_every_grouping_finds_the_two_methods_with_their_runs(project, group_by):
    m = score_matrix(project, "overview/reward", group_by=group_by)
    assert len(m.methods) == 2
    for method, ids in m.run_ids.items():
        algo = "ppo" if "ppo" in method else "sac"
        assert sorted(ids[:, 0]) == [f"w:e/p/{algo}{s}" for s in range(4)], (group_by, method)
    # the same scores whichever way the runs were grouped
    ref = score_matrix(project, "overview/reward", group_by="trainer.algorithm")
    for method, s in m.scores.items():
        algo = "ppo" if "ppo" in method else "sac"
        np.testing.assert_array_equal(np.sort(s[:, 0]), np.sort(ref.scores[algo][:, 0]))


def test_a_label_overrides_the_run_group(project):
    project.set_labels({"w:e/p/ppo0": {"group": "special"}})
    m = score_matrix(project, "overview/reward", group_by="group")
    assert "special" in m.methods and m.run_ids["special"].ravel().tolist() == ["w:e/p/ppo0"]


def test_a_typo_in_group_by_is_named_with_did_you_mean(project):
    with pytest.raises(InputError, match=r"no selected run has a value for group_by 'trainer\.algo'") as exc:
        score_matrix(project, None, group_by="trainer.algo", task_by=r"eval_(?P<suite>[^/]+)/(?P<task>.+)")
    assert "trainer.algorithm" in (exc.value.hint or "")


def test_a_typo_in_a_config_task_by_is_named(project):
    with pytest.raises(InputError, match=r"task_by 'env\.nam'") as exc:
        score_matrix(project, "overview/reward", group_by="trainer.algorithm", task_by="env.nam")
    assert "env.name" in (exc.value.hint or "")


def test_a_typo_in_the_metric_is_named_with_did_you_mean(project):
    with pytest.raises(NotFoundError, match="overview/rewrd") as exc:
        score_matrix(project, "overview/rewrd", group_by="trainer.algorithm")
    assert "overview/reward" in (exc.value.hint or "")


def test_a_name_pattern_without_a_group_is_refused(project):
    with pytest.raises(InputError, match="no capture group"):
        score_matrix(project, "overview/reward", group_by="name:ppo.*")


def test_grouped_by_tags_compares(project):
    res = compare(score_matrix(project, "overview/reward", group_by="job_type"), reps=100, profile_points=0)
    assert set(res.estimates["method"]) == {"train-ppo", "train-sac"}


def test_runs_select_by_glob_over_names_from_the_warehouse_and_from_a_frame(project):
    from runlab.frames import tidy_frame

    m = score_matrix(project, "overview/reward", group_by="trainer.algorithm", runs=["ppo_*"])
    assert m.methods == ["ppo"] and m.scores["ppo"].shape == (4, 1)
    frame = tidy_frame(project, metrics=["overview/reward"], config_params=["trainer.algorithm"])
    f = score_matrix(frame, "overview/reward", group_by="trainer.algorithm", runs=["ppo_*", "w:e/p/sac1"])
    assert f.methods == ["ppo", "sac"] and f.scores["sac"].shape == (1, 1)
    np.testing.assert_array_equal(np.sort(f.scores["ppo"].ravel()), np.sort(m.scores["ppo"].ravel()))


def test_a_regex_task_by_with_a_misspelt_task_group_says_so(project):
    from runlab.reports import validate_config

    with pytest.raises(InputError, match=r"no \(\?P<task>\.\.\.\) group \(its named groups: 'suite', 'tsk'\)"):
        score_matrix(project, None, group_by="trainer.algorithm", task_by=r"eval_(?P<suite>[^/]+)/(?P<tsk>.+)")
    with pytest.raises(InputError, match=r"task_by: .*no \(\?P<task>\.\.\.\) group"):
        validate_config({"task_by": r"eval_(?P<suite>[^/]+)/(?P<tsk>.+)"})


def test_a_typo_in_metrics_primary_is_an_error_even_with_a_regex_task_by(project):
    from runlab.reports import analyse, validate_config

    cfg = validate_config({"task_by": r"eval_(?P<suite>[^/]+)/(?P<task>.+)", "group_by": "trainer.algorithm",
                           "metrics": {"primary": ["overview/rewrd"]}, "analysis": {"bootstrap_samples": 100}})
    with pytest.raises(NotFoundError, match="overview/rewrd") as exc:
        analyse(project, cfg)
    assert "overview/reward" in (exc.value.hint or "")
