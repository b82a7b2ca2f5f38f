"""The collector against runs written by the real wandb client: offline run -> test server -> warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runlab.sources.wandb_api import FetchOptions, RunSelection, WandBCollector
from runlab.sources.wandb_offline import find_run_dirs, read_run
from runlab.warehouse import Warehouse
from wandb_server import WandbTestServer, stored_run_from_record
from wandb_server.fixtures import wandb_server_fixture  # noqa: F401  (the wandb_server fixture)

WRITER = textwrap.dedent(
    """
    import math, sys, wandb
    run = wandb.init(mode="offline", dir=sys.argv[1], project="metta", entity="runlab-test",
                     name="sky_offline_1", tags=["sky"], config={"trainer": {"optimizer": {"lr": 3e-4}}})
    for i in range(40):
        row = {"overview/reward": 0.5 * i, "metric/agent_step": 100 * i}
        if i % 7 == 0:
            row["eval_navigation/success_rate"] = i / 40
        if i == 3:
            row["losses/policy_loss"] = math.nan
        run.log(row, step=i)
    run.finish()
    """
)


@pytest.fixture(scope="module")
def offline_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("offline")
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline"}
    subprocess.run([sys.executable, "-c", WRITER, str(out)], check=True, env=env, timeout=120,
                   capture_output=True)
    (run_dir,) = find_run_dirs([out])
    return run_dir


def test_offline_written_run_round_trips_through_the_api(
    wandb_server: WandbTestServer, offline_run_dir: Path, tmp_path: Path
) -> None:
    record = read_run(offline_run_dir)
    wandb_server.add_run("metta", stored_run_from_record(record, exported_rows=25, state="running"))
    c = WandBCollector(RunSelection("runlab-test", "metta", pattern="sky_*",
                                    metrics=["@overview", "eval_*/*", "losses/*"]),
                       FetchOptions(retry_base_delay=0.01))
    with Warehouse.open(tmp_path / "wh") as wh:
        result = wh.ingest(c.records(known=wh.sync_state))
        h = wh.history(result.added)
        stored = wh.get_run(result.added[0])
    assert stored["name"] == "sky_offline_1"
    assert stored["config"]["trainer"]["optimizer"]["lr"] == 3e-4
    steps = h.groupby("metric")["step"].apply(sorted).to_dict()
    assert steps["overview/reward"] == list(range(40))
    assert steps["eval_navigation/success_rate"] == [0, 7, 14, 21, 28, 35]
    assert steps["losses/policy_loss"] == [3]
    assert h.loc[h.metric == "losses/policy_loss", "value"].isna().all()
