"""The shared source suite (:mod:`runlab.testing.sources`) run by both W&B sources.

The offline reader reads runs the real wandb client wrote in offline mode (in a child process,
once per session); the API collector reads the same runs from the project's W&B test server
through the real ``wandb.Api``. A broken run is a garbage ``.wandb`` file for the reader and a
history download that keeps failing with HTTP 500 for the collector.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from runlab.sources import RunSource
from runlab.sources.wandb_api import FetchOptions, RunSelection, WandBCollector
from runlab.sources.wandb_offline import WandBOfflineReader
from runlab.testing.sources import SourceSuite, SuiteRun
from wandb_server import StoredRun, WandbTestServer
from wandb_server.fixtures import wandb_server_fixture  # noqa: F401  (the wandb_server fixture)

PROJECT = "suite"

WRITER = textwrap.dedent(
    """
    import json, sys, wandb
    out, runs = sys.argv[1], json.loads(sys.argv[2])
    for spec in runs:
        run = wandb.init(mode="offline", dir=out, entity="runlab-test", project="suite", id=spec["key"],
                         name=spec["name"], tags=spec["tags"], config=spec["config"])
        for row in spec["rows"]:
            step = row.pop("_step")
            run.log(row, step=step)
        run.finish()
    """
)


def _spec(run: SuiteRun) -> dict:
    return {"key": run.key, "name": run.name, "tags": list(run.tags), "config": run.config, "rows": run.rows()}


@pytest.fixture(scope="session")
def offline_writer(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Sequence[SuiteRun]], Path]:
    """Writes suite runs with the real client (each set once per session); returns their folder."""
    written: dict[tuple[str, ...], Path] = {}

    def write(runs: Sequence[SuiteRun]) -> Path:
        keys = tuple(r.key for r in runs)
        if keys in written:
            return written[keys]
        out = tmp_path_factory.mktemp("suite-offline")
        good = [_spec(r) for r in runs if not r.broken]
        env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline"}
        subprocess.run([sys.executable, "-c", WRITER, str(out), json.dumps(good)], check=True, env=env,
                       timeout=300, capture_output=True, cwd=out)
        for run in runs:
            if run.broken:  # a run folder whose log is not a W&B log at all
                folder = out / "wandb" / f"offline-run-20250101_000000-{run.key}"
                folder.mkdir(parents=True)
                (folder / f"run-{run.key}.wandb").write_bytes(b"not a wandb log " * 64)
        written[keys] = out
        return out

    return write


class TestOfflineReader(SourceSuite):
    @pytest.fixture
    def make_source(self, offline_writer: Callable[[Sequence[SuiteRun]], Path]) -> Callable[..., RunSource]:
        def make(runs: Sequence[SuiteRun]) -> RunSource:
            return WandBOfflineReader([offline_writer(runs)])

        return make


class TestAPICollector(SourceSuite):
    extra_metrics = frozenset()  # the test server serves exactly the rows it was given

    @pytest.fixture
    def make_source(self, wandb_server: WandbTestServer) -> Callable[..., RunSource]:
        def make(runs: Sequence[SuiteRun]) -> RunSource:
            for run in runs:
                wandb_server.add_run(PROJECT, StoredRun(id=run.key, display_name=run.name, tags=list(run.tags),
                                                        config=dict(run.config), history=run.rows()))
                if run.broken:
                    wandb_server.inject("500", "RunParquetHistory", run=run.key, times=10_000)
            return WandBCollector(RunSelection(wandb_server.entity, PROJECT),
                                  FetchOptions(max_retries=0, retry_base_delay=0.01, timeout=10, workers=2))

        return make
