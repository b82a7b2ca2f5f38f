"""`runlab fetch` end to end: the CLI, the real wandb client, the local test server, a real warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.warehouse import Warehouse
from test_wandb_api import PROJECT, populate
from wandb_server import WandbTestServer
from wandb_server.fixtures import wandb_server_fixture  # noqa: F401  (the wandb_server fixture)


def run_cli(home: Path, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "fetch", *args, "--no-progress"])


def test_fetch_selects_and_stores(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    home = tmp_path / "home"
    path = f"{wandb_server.entity}/{PROJECT}"
    res = run_cli(home, path, "--pattern", "sky_comprehensive_*", "--tag", "sky",
                  "--metrics", "overview/reward,@losses", "--metrics", "eval_*/*", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert "2 added" in res.output
    with Warehouse.open(home) as wh:
        assert set(wh.runs()["name"]) == {"sky_comprehensive_1", "sky_comprehensive_2"}
        assert set(wh.history()["metric"]) == {
            "overview/reward", "losses/policy_loss", "eval_navigation/success_rate", "metric/agent_step"
        }
    again = run_cli(home, path, "--pattern", "sky_comprehensive_*", "--metrics", "overview/reward")
    assert again.exit_code == 0, again.output
    assert "2 unchanged" in again.output


def test_fetch_filter_json_and_typo_warning(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    res = run_cli(tmp_path / "home", f"{wandb_server.entity}/{PROJECT}",
                  "--filter", json.dumps({"config.seed": {"$gte": 3}}),
                  "--metrics", "overview/reward,overview/rewrad")
    assert res.exit_code == 0, res.output
    assert "2 added" in res.output
    assert "overview/rewrad (did you mean overview/reward" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-path"], "ENTITY/PROJECT must look like"),
        (["a/b", "--filter", "[1, 2]"], "--filter must be a JSON object"),
        (["a/b", "--pattern", "x*", "--regex", "x.*"], "either --pattern or --regex"),
    ],
)
def test_fetch_bad_input_is_one_clear_error(wandb_server: WandbTestServer, tmp_path: Path, args, message) -> None:
    res = run_cli(tmp_path / "home", *args)
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output


def test_fetch_invalid_key_never_printed_or_written(
    wandb_server: WandbTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(wandb_server)
    bad_key = "leaky" + "Q" * 40
    monkeypatch.setenv("WANDB_API_KEY", bad_key)
    home = tmp_path / "home"
    res = run_cli(home, f"{wandb_server.entity}/{PROJECT}")
    assert res.exit_code == 1
    assert "rejected the API key" in res.output and "WANDB_API_KEY" in res.output
    assert bad_key not in res.output
    assert not home.exists(), "a rejected key must not leave an empty warehouse behind"
    for f in home.rglob("*"):
        if f.is_file():
            assert bad_key.encode() not in f.read_bytes(), f


def test_fetch_lists_failed_runs_and_exits_2(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    wandb_server.inject("500", "Runs", times=1)  # a transient failure of the listing is retried
    wandb_server.inject("500", "RunParquetHistory", run="r1", times=10_000)
    import dataclasses

    from runlab.sources import wandb_api

    monkeypatch_timeout = pytest.MonkeyPatch()
    original = wandb_api.WandBCollector.__init__

    def short(self, selection, options, **kw):
        options = dataclasses.replace(options, retry_base_delay=0.01, timeout=10, max_retries=1)
        original(self, selection, options, **kw)

    monkeypatch_timeout.setattr(wandb_api.WandBCollector, "__init__", short)
    try:
        res = run_cli(tmp_path / "home", f"{wandb_server.entity}/{PROJECT}")
    finally:
        monkeypatch_timeout.undo()
    assert res.exit_code == 2, res.output
    assert "3 added" in res.output and "1 failed" in res.output
    assert "sky_comprehensive_1" in res.output and "run the same command again" in res.output


def test_the_library_reports_progress_and_draws_nothing(wandb_server: WandbTestServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Progress is a callback; the bar is the CLI's (drawn in the real process below)."""
    from runlab.sources.wandb_api import FetchOptions, RunSelection, WandBCollector

    populate(wandb_server)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # a bar drawn by the library would land on the captured stderr
    calls: list[tuple[int, int]] = []
    with Warehouse.open(tmp_path / "wh") as wh:
        collector = WandBCollector(RunSelection(wandb_server.entity, PROJECT),
                                   FetchOptions(retry_base_delay=0.01, timeout=10))
        result = wh.ingest(collector.records(known=wh.sync_state), on_progress=lambda d, t: calls.append((d, t)))
    out = capsys.readouterr()
    assert len(result.added) == 4
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert out.err == "" and out.out == ""


@pytest.mark.parametrize("flag", ["--verbose", "--debug"])
def test_cli_logging_never_shows_the_api_key(wandb_server: WandbTestServer, tmp_path: Path, flag: str) -> None:
    """The real `runlab` process, logging at INFO/DEBUG with a progress bar, against the test server."""
    import os
    import subprocess
    import sys

    populate(wandb_server)
    home = tmp_path / "home"
    env = {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}
    proc = subprocess.run(
        [sys.executable, "-c", "from runlab.cli.app import main; main()", "--home", str(home), flag, "fetch",
         f"{wandb_server.entity}/{PROJECT}", "--workers", "2"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 added" in proc.stdout
    assert "fetching" in proc.stderr and "4/4" in proc.stderr  # the progress bar was drawn
    assert "selected 4 runs" in proc.stderr  # runlab's own INFO log lines are on
    key = wandb_server.api_key
    assert key in wandb_server.seen_keys
    assert key not in proc.stdout and key not in proc.stderr
    for f in [*home.rglob("*"), *tmp_path.rglob("wandb-c*/**/*")]:
        if f.is_file():
            assert key.encode() not in f.read_bytes(), f


@pytest.mark.parametrize("retries", [0, 2])
def test_an_unreachable_server_says_so_quickly_and_honours_retries(tmp_path: Path, monkeypatch, retries) -> None:
    import socket
    import time

    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("WANDB_BASE_URL", url)
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    t0 = time.monotonic()
    res = run_cli(tmp_path / "home", "team/proj", "--max-retries", str(retries))
    took = time.monotonic() - t0
    assert res.exit_code == 1, res.output
    text = " ".join(res.output.split())
    assert f"cannot connect to the W&B server at {url}" in text and "refused" in text.lower()
    assert "rejected" not in text and "API key was not checked" in text
    assert took < 30  # retries wait 1 s, 2 s: the two retries take a few seconds, none takes a minute
    if retries:
        assert f"after {retries} retries" in text
    assert not (tmp_path / "home").exists()
