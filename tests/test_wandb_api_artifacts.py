"""Output artifacts through the real ``wandb.Api``: listed for every run, downloaded when wanted.

The server is fed runs the real wandb client wrote offline, with the bytes of the artifact files
they staged; the collector downloads through the client's own manifest + file-URL protocol.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from runlab.errors import InputError
from runlab.sources import RunRecord
from runlab.sources.wandb_api import FetchOptions, WandBCollector
from runlab.warehouse import Warehouse
from test_wandb_api import fetch
from wandb_server import StoredArtifact, StoredRun, WandbTestServer, stored_run_from_record
from wandb_server.fixtures import (  # noqa: F401  (fixtures: sweep_records, wandb_server)
    sweep_records_fixture,
    wandb_server_fixture,
)

PROJECT = "metta"


def feed(server: WandbTestServer, records: list[RunRecord]) -> dict[str, RunRecord]:
    """Serve the records' runs; returns them by warehouse run id."""
    out = {}
    for rec in records:
        run = server.add_run(PROJECT, stored_run_from_record(rec))
        out[f"wandb:{server.entity}/{PROJECT}/{run.id}"] = rec
    return out


def collector(server: WandbTestServer, **kwargs) -> WandBCollector:
    from test_wandb_api import collector as api_collector

    kwargs.setdefault("workers", 4)
    return api_collector(server, **kwargs)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary downloads go here, so a test can see that none is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_artifacts_are_listed_and_small_ones_downloaded(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path, private_tmp: Path
) -> None:
    records = feed(wandb_server, sweep_records[:1])  # sweep_run_0: environment_configs + a 307 kB model
    (rid, rec) = next(iter(records.items()))
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, artifact_max_bytes=100_000), wh)
        arts = wh.artifacts([rid]).set_index("name")
    assert result.ok and result.artifacts == 2 and result.artifact_files == 1
    offline = {a.name: a for a in rec.artifacts}
    assert set(arts.index) == {"environment_configs", "model"}
    for name in ("environment_configs", "model"):
        assert arts.loc[name, "type"] == offline[name].type
        assert arts.loc[name, "digest"] == offline[name].digest  # the client's manifest digest, end to end
        assert arts.loc[name, "metadata"] == offline[name].metadata
        assert arts.loc[name, "version"] == "v0"
    stored = Path(arts.loc["environment_configs", "path"]) / "configs" / "epoch_0000.json"
    staged = Path(offline["environment_configs"].files["configs/epoch_0000.json"])
    assert stored.read_bytes() == staged.read_bytes()
    assert stored.is_relative_to(tmp_path / "wh")
    assert arts.loc["model", "path"] == ""  # 307 kB > the 100 kB limit: listed, not downloaded
    assert not list(private_tmp.glob("runlab-artifacts-*"))  # gone once the warehouse has its copy


def test_wanted_types_are_downloaded_whatever_their_size(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path
) -> None:
    records = feed(wandb_server, sweep_records[:1])
    (rid, rec) = next(iter(records.items()))
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(collector(wandb_server, artifact_types=["model"], artifact_max_bytes=0), wh)
        arts = wh.artifacts([rid]).set_index("name")
    assert arts.loc["environment_configs", "path"] == ""
    weights = Path(arts.loc["model", "path"]) / "weights.bin"
    model = next(a for a in rec.artifacts if a.name == "model")
    assert weights.read_bytes() == Path(model.files["weights.bin"]).read_bytes()
    assert model.version == "best"  # the offline record keeps the user's alias; the server adds v0/latest


def test_artifacts_can_be_turned_off(wandb_server: WandbTestServer, sweep_records: list[RunRecord],
                                     tmp_path: Path) -> None:
    feed(wandb_server, sweep_records)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, artifacts=False), wh)
        assert wh.artifacts().empty
    assert len(result.added) == 4 and result.artifacts == 0
    assert wandb_server.count("RunOutputArtifacts") == 0


def test_garbled_downloads_are_retried_and_never_stored(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path
) -> None:
    """A 200 answer with a wrong body (broken proxy) fails the digest check and is downloaded again."""
    records = feed(wandb_server, sweep_records[:1])
    rid = next(iter(records))
    wandb_server.inject("corrupt", "GET-artifact", times=2)  # the manifest, then a file
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, artifact_types=["*"], max_retries=3), wh)
        arts = wh.artifacts([rid]).set_index("name")
    assert result.ok, result.failures
    assert all(f.fired == f.times for f in wandb_server.faults)
    stored = Path(arts.loc["model", "path"]) / "weights.bin"
    assert stored.read_bytes() == bytes(range(256)) * 1200


def test_a_download_that_keeps_failing_costs_only_the_artifact(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path, private_tmp: Path
) -> None:
    """The run lands whole (config, history); the artifact is recorded as failed with the reason,
    and the next fetch downloads only that artifact, not the history again."""
    records = feed(wandb_server, sweep_records)
    bad_rid, bad = next((rid, r) for rid, r in records.items() if r.name == "sweep_run_1")
    fault = wandb_server.inject("corrupt", "GET-artifact", run=bad_rid.rsplit("/", 1)[-1], times=10_000)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, max_retries=1), wh)
        stored = set(wh.runs()["run_id"])
        run = wh.runs([bad_rid]).iloc[0]
        rows = len(wh.history([bad_rid]))
        arts = wh.artifacts([bad_rid]).set_index("name")
        fault.times = 0  # the server recovers
        wandb_server.requests.clear()
        again = fetch(collector(wandb_server, max_retries=1), wh)
        arts_after = wh.artifacts([bad_rid]).set_index("name")
        rows_after = len(wh.history([bad_rid]))
    assert result.ok and stored == set(records)
    assert run["config"] == bad.config and rows == bad.history.num_rows
    assert arts.loc["environment_configs", "status"] == "failed"
    assert "CorruptDownloadError" in arts.loc["environment_configs", "error"]
    assert [(r, n) for r, n, _ in result.artifact_failures] == [(bad_rid, "environment_configs")]
    assert again.ok and not again.artifact_failures
    assert arts_after.loc["environment_configs", "status"] == "stored"
    assert Path(arts_after.loc["environment_configs", "path"]).is_dir()
    assert rows_after == rows
    history_requests = [r for r in wandb_server.requests if r.operation in ("GET", "RunParquetHistory", "HistoryPage")]
    assert not history_requests  # only the artifact was fetched again
    assert sorted(again.unchanged) == sorted(set(records) - {bad_rid})
    assert not list(private_tmp.glob("runlab-artifacts-*"))


def test_an_artifact_without_a_manifest_is_recorded_not_fatal(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path
) -> None:
    """A server that serves artifact metadata but not the manifest (the `no-manifest` fault)."""
    records = feed(wandb_server, sweep_records)
    wandb_server.inject("no-manifest", "GET-artifact", times=10_000)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, artifact_types=["*"], max_retries=0), wh)
        arts = wh.artifacts()
        runs = wh.runs()
        hist = wh.history()
    assert result.ok, result.failures
    assert set(runs["run_id"]) == set(records)
    for rid, rec in records.items():
        assert runs.set_index("run_id").loc[rid, "config"] == rec.config
        assert (hist["run_id"] == rid).sum() == rec.history.num_rows
    assert len(arts) and set(arts["status"]) == {"failed"}
    assert len(result.artifact_failures) == len(arts)


def test_unsafe_artifact_paths_never_escape_and_lose_nothing_else(
    wandb_server: WandbTestServer, tmp_path: Path
) -> None:
    evil = StoredArtifact(name="evil", type="environment_configs",
                          files={"../../escape.txt": b"x", "/abs.txt": b"y", "ok/<script>.json": b"z"})
    fine = StoredArtifact(name="fine", type="environment_configs", files={"a 🚀/b'\"c.json": b"{}"})
    wandb_server.add_run(PROJECT, StoredRun(id="e1", display_name="evil_run", history=[{"_step": 0, "r": 1.0}],
                                            artifacts=[evil, fine]))
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server), wh)
        arts = wh.artifacts().set_index("name")
        run = wh.get_run(f"wandb:{wandb_server.entity}/{PROJECT}/e1")
    assert result.ok and result.added
    assert arts.loc["evil", "path"] == ""  # kept as a record without files
    assert any("artifact evil" in p and "not downloaded" in p for p in run["problems"])
    assert (Path(arts.loc["fine", "path"]) / "a 🚀" / "b'\"c.json").read_bytes() == b"{}"
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("abs.txt"))


def test_a_new_artifact_on_a_running_run_is_picked_up(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    rows = [{"_step": i, "overview/reward": float(i)} for i in range(10)]
    run = wandb_server.add_run(PROJECT, StoredRun(id="live", display_name="live", state="running", history=rows[:6]))
    rid = f"wandb:{wandb_server.entity}/{PROJECT}/live"
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(collector(wandb_server), wh)
        assert wh.artifacts([rid]).empty
        run.append_history(rows[6:])
        run.artifacts.append(StoredArtifact(name="environment_configs", type="environment_configs",
                                            files={"epoch_0001.json": b'{"epoch": 1}'}))
        result = fetch(collector(wandb_server), wh)
        arts = wh.artifacts([rid])
        steps = sorted(wh.history([rid])["step"])
    assert result.ok and result.artifacts == 1
    assert list(arts["name"]) == ["environment_configs"]
    assert (Path(arts["path"][0]) / "epoch_0001.json").read_bytes() == b'{"epoch": 1}'
    assert steps == list(range(10))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"artifact_types": "model"}, "artifact types must be a list"),
        ({"artifact_types": ["model", " "]}, "artifact types must be non-empty"),
        ({"artifact_max_bytes": -1}, "artifact size limit must be >= 0"),
    ],
)
def test_bad_artifact_options_name_the_fix(kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        FetchOptions(**kwargs)


def test_a_batch_stopped_early_leaves_no_downloads_behind(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], private_tmp: Path
) -> None:
    feed(wandb_server, sweep_records)
    batch = collector(wandb_server, artifact_types=["*"], workers=2).records()
    first = next(iter(batch))
    assert isinstance(first, RunRecord) and any(a.files for a in first.artifacts)
    assert all(Path(p).is_file() for a in first.artifacts for p in a.files.values())  # valid until the next item
    batch.close()
    assert not list(private_tmp.glob("runlab-artifacts-*"))
