"""The three history formats, the /2 round trip, and loading from files, run folders and the warehouse."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.envconfig import (
    FORMAT,
    FORMAT_ORIGINAL,
    FORMAT_V1,
    ConfigHistory,
    ConfigTracker,
    canonical_json,
    from_warehouse,
    hash_config,
    load_history,
)
from runlab.errors import InputError, NotFoundError
from runlab.samples import ConfigHistory as SamplesV1Writer
from runlab.samples import shipped_samples_dir
from runlab.warehouse import Warehouse

CURRICULUM = shipped_samples_dir() / "curriculum"


def _shipped_run(name: str) -> Path:
    (run,) = CURRICULUM.glob(f"wandb/*-{name}")
    return run


def _raw(run: Path) -> dict:
    (path,) = run.glob("files/artifacts/*/env_config_history.json")
    return json.loads(path.read_text())


def _tasks(state) -> dict:
    return {t.task: {"config": t.config, "num_envs": t.num_envs, "probability": t.probability} for t in state.tasks}


@pytest.mark.parametrize("name", ["curr-lp-s0", "curr-uniform-s1"])
def test_shipped_histories_read_epoch_for_epoch(name: str) -> None:
    """The shipped curriculum runs were written by ConfigTracker (format /2, run-length encoded)."""
    raw = _raw(_shipped_run(name))
    hist = load_history(_shipped_run(name))
    assert raw["format"] == FORMAT and hist.source_format == FORMAT
    assert hist.epochs_recorded == sum(item["count"] for item in raw["history"])
    for item in raw["history"]:
        for epoch in range(item["epoch"], item["last_epoch"] + 1):
            assert _tasks(hist.at_epoch(epoch)) == item["tasks"], (name, epoch)
        assert hist.at_epoch(item["epoch"]).agent_step == item["agent_step"]
    # the hash is the one the first writer used, so configs keep their names across formats
    assert all(hash_config(cfg)[0] == key for key, cfg in raw["snapshots"].items())
    freq = Counter({t: 0 for item in raw["history"] for t in item["tasks"]})
    for item in raw["history"]:
        for t in item["tasks"]:
            freq[t] += item["count"]
    assert hist.task_frequencies() == dict(freq)


@pytest.mark.parametrize("name", ["curr-lp-s0", "curr-uniform-s1"])
def test_the_older_v1_format_of_the_same_run_reads_the_same(name: str) -> None:
    """A shipped run's history rewritten epoch by epoch by the samples' former /1 writer reads back
    to the same states: the /1 reader stays right for runs logged before the tracker."""
    raw = _raw(_shipped_run(name))
    hist = load_history(_shipped_run(name))
    writer = SamplesV1Writer()
    for item in raw["history"]:
        configs = {t: raw["snapshots"][e["config"]] for t, e in item["tasks"].items()}
        in_play = [t for t, e in item["tasks"].items() for _ in range(e["num_envs"])]
        probs = {t: e["probability"] for t, e in item["tasks"].items()}
        for epoch in range(item["epoch"], item["last_epoch"] + 1):
            writer.record(epoch=epoch, agent_step=item["agent_step"], in_play=in_play, configs=configs,
                          probabilities=probs)
    v1 = writer.to_json()
    assert v1["format"] == FORMAT_V1
    old = ConfigHistory.from_json(json.loads(json.dumps(v1)))
    assert old.source_format == FORMAT_V1 and old.epochs_recorded == hist.epochs_recorded
    for item in raw["history"]:
        for epoch in (item["epoch"], item["last_epoch"]):
            assert _tasks(old.at_epoch(epoch)) == _tasks(hist.at_epoch(epoch))
    assert old.task_frequencies() == hist.task_frequencies()


def test_v1_from_the_samples_writer_reads_back() -> None:
    w = SamplesV1Writer()
    configs = {"a/b 'x'": {"gravity": 9.8}, "c": {"gravity": 4.9}}
    for epoch, in_play in enumerate([["a/b 'x'", "c", "c"], ["a/b 'x'", "c", "c"], ["c"]], 1):
        w.record(epoch=epoch, agent_step=epoch * 10, in_play=in_play, configs=configs,
                 probabilities={"a/b 'x'": 0.5, "c": 0.5})
    hist = ConfigHistory.from_json(w.to_json())
    assert len(hist.spans) == 2 and hist.spans[0].count == 2
    assert {t.task: t.num_envs for t in hist.at_epoch(2).tasks} == {"a/b 'x'": 1, "c": 2}
    assert [t.task for t in hist.changes()[1].removed] == ["a/b 'x'"]


def test_original_design_format() -> None:
    easy, hard = {"max_steps": 1000, "num_agents": 4}, {"max_steps": 3000, "num_agents": 12}
    items = [{"epoch": e, "agent_step": e * 512, "timestamp": 1.7e9 + e, "task_id": f"id{e}",
              "task_name": "navigation/easy" if e < 15 else "navigation/hard", "config": easy if e < 15 else hard}
             for e in range(40)]
    data = {"history": items, "task_counts": {"navigation/easy": 15, "navigation/hard": 25},
            "curriculum_stats": {"type": "progressive"}}
    hist = ConfigHistory.from_json(json.loads(json.dumps(data)))
    assert hist.source_format == FORMAT_ORIGINAL and hist.meta["task_counts"] == data["task_counts"]
    assert hist.task_frequencies() == {"navigation/hard": 25, "navigation/easy": 15}
    assert [(c.epoch, c.agent_step, [t.task for t in c.added]) for c in hist.changes()] == [
        (0, 0, ["navigation/easy"]), (15, 15 * 512, ["navigation/hard"])]
    state = hist.at_epoch(20)
    assert state.configs[state.tasks[0].config] == hard and state.tasks[0].probability is None


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "not an env-config history"),
    ({"format": "someone.else/9", "history": []}, "unknown format 'someone.else/9'"),
    ({"format": FORMAT_V1, "snapshots": {}, "history": [{"epoch": 1, "tasks": {"a": {"config": "abc"}}}]},
     "no snapshot for"),
    ({"format": FORMAT, "snapshots": {}, "history": [{"epoch": 1}]}, "is damaged: KeyError"),
])
def test_damaged_or_foreign_files_are_named(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ConfigHistory.from_json(data, where="x.json")


# one record: epoch step (+1..+3 or, rarely, back to an earlier epoch) and envs drawn from 3 tasks x 2 configs
records = st.lists(
    st.tuples(st.sampled_from([1, 1, 2, 3, -5]),
              st.lists(st.tuples(st.sampled_from(["a", "b/<c>", "=d"]), st.integers(0, 1)), max_size=5),
              st.sampled_from([0.25, 0.5, float("nan")])),
    min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(records)
def test_v2_round_trip_answers_like_a_brute_force_log(recs: list) -> None:
    tracker = ConfigTracker(rank=0)
    log: list[tuple[int, Counter]] = []  # reference: every record kept verbatim
    epoch = 0
    for step, envs, prob in recs:
        epoch = max(0, epoch + step)
        pairs = [(t, {"task": t, "level": lvl}) for t, lvl in envs]
        tracker.record(epoch=epoch, agent_step=epoch * 7, envs=pairs, task_probabilities={"a": prob, "b/<c>": 0.5})
        log.append((epoch, Counter((t, canonical_json(c)) for t, c in pairs)))
    hist = ConfigHistory.from_json(json.loads(json.dumps(tracker.to_json())))
    assert hist.source_format == FORMAT and hist.epochs_recorded == len(recs)
    for e in range(max(ep for ep, _ in log) + 1):
        # the latest record at or before e, in the latest segment whose records reach e
        segments: list[list[tuple[int, Counter]]] = [[]]
        for item in log:
            if segments[-1] and item[0] <= segments[-1][-1][0]:
                segments.append([])
            segments[-1].append(item)
        want = None
        for seg in reversed(segments):
            before = [c for ep, c in seg if ep <= e]
            if before and e <= seg[-1][0]:
                want = before[-1]
                break
        state = hist.at_epoch(e)
        if want is None:
            assert state is None, e
            continue
        got = Counter({(t.task, canonical_json(hist.snapshots[t.config])): t.num_envs for t in state.tasks})
        assert got == want, e


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    from typer.testing import CliRunner

    from runlab.cli.app import app

    home = tmp_path_factory.mktemp("wh")
    result = CliRunner().invoke(app, ["--home", str(home), "ingest", str(CURRICULUM),
                                      str(shipped_samples_dir() / "benchmark")])
    assert result.exit_code == 0, result.output
    wh = Warehouse.open(home, read_only=True)
    yield wh
    wh.close()


def test_warehouse_copy_reads_like_the_run_folder(warehouse: Warehouse) -> None:
    from_wh = from_warehouse(warehouse, "curr-lp-s0")
    from_dir = load_history(_shipped_run("curr-lp-s0"))
    assert from_wh.to_json()["history"] == from_dir.to_json()["history"]
    assert load_history("curr-lp-s0", warehouse=warehouse).epochs_recorded == from_dir.epochs_recorded
    assert from_wh.meta["run_id"].endswith("curr-lp-s0")


def test_a_run_without_history_says_what_to_log(warehouse: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="has no environment_configs artifact") as err:
        from_warehouse(warehouse, "bench-ppo-s0")
    assert "ConfigTracker" in err.value.hint
    with pytest.raises(InputError, match="histories of 6 runs"):
        load_history(CURRICULUM)
    with pytest.raises(NotFoundError, match="no env-config history at"):
        load_history(str(tmp_path / "missing.json"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="has no environment_configs history file"):
        load_history(tmp_path / "empty")
