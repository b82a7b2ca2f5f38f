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
from runlab.sources.wandb_api import WandBCollector
from runlab.warehouse import Warehouse
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
    kwargs.setdefault("retry_base_delay", 0.01)
    kwargs.setdefault("timeout", 10)
    return WandBCollector(server.entity, PROJECT, **kwargs)


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
        result = collector(wandb_server, artifact_max_bytes=100_000).collect(wh, progress=False)
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
        collector(wandb_server, artifact_types=["model"], artifact_max_bytes=0).collect(wh, progress=False)
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
        result = collector(wandb_server, artifacts=False).collect(wh, progress=False)
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
        result = collector(wandb_server, artifact_types=["*"], max_retries=3).collect(wh, progress=False)
        arts = wh.artifacts([rid]).set_index("name")
    assert result.ok, result.failed
    assert all(f.fired == f.times for f in wandb_server.faults)
    stored = Path(arts.loc["model", "path"]) / "weights.bin"
    assert stored.read_bytes() == bytes(range(256)) * 1200


def test_a_download_that_keeps_failing_fails_only_its_run(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path, private_tmp: Path
) -> None:
    records = feed(wandb_server, sweep_records)
    bad_rid, bad = next((rid, r) for rid, r in records.items() if r.name == "sweep_run_1")
    wandb_server.inject("corrupt", "GET-artifact", run=bad_rid.rsplit("/", 1)[-1], times=10_000)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = collector(wandb_server, max_retries=1).collect(wh, progress=False)
        stored = set(wh.runs()["run_id"])
        again = collector(wandb_server, max_retries=1).collect(wh, progress=False)
    assert [f.name for f in result.failed] == [bad.name]
    assert "artifact environment_configs" in result.failed[0].error
    assert "CorruptDownloadError" in result.failed[0].error
    assert stored == set(records) - {bad_rid}
    assert [f.name for f in again.failed] == [bad.name]  # retried on the next fetch, not skipped
    assert sorted(again.unchanged) == sorted(stored)
    assert not list(private_tmp.glob("runlab-artifacts-*"))


def test_unsafe_artifact_paths_never_escape_and_lose_nothing_else(
    wandb_server: WandbTestServer, tmp_path: Path
) -> None:
    evil = StoredArtifact(name="evil", type="environment_configs",
                          files={"../../escape.txt": b"x", "/abs.txt": b"y", "ok/<script>.json": b"z"})
    fine = StoredArtifact(name="fine", type="environment_configs", files={"a 🚀/b'\"c.json": b"{}"})
    wandb_server.add_run(PROJECT, StoredRun(id="e1", display_name="evil_run", history=[{"_step": 0, "r": 1.0}],
                                            artifacts=[evil, fine]))
    with Warehouse.open(tmp_path / "wh") as wh:
        result = collector(wandb_server).collect(wh, progress=False)
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
        collector(wandb_server).collect(wh, progress=False)
        assert wh.artifacts([rid]).empty
        run.append_history(rows[6:])
        run.artifacts.append(StoredArtifact(name="environment_configs", type="environment_configs",
                                            files={"epoch_0001.json": b'{"epoch": 1}'}))
        result = collector(wandb_server).collect(wh, progress=False)
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
        WandBCollector("e", "p", **kwargs)
