"""pytest fixtures: a running test server with the environment the real wandb client needs.

Import the fixtures into a test module (``from wandb_server.fixtures import wandb_server_fixture``;
the fixture is named ``wandb_server``; ``sweep_records`` (import ``sweep_records_fixture``) gives real offline-written runs of a W&B
sweep, with artifacts).
wandb-core's own GraphQL retries are cut to one quick retry and its HTTP timeout shortened, so the
collector's retry logic is what the fault-injection tests exercise, and they stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ._server import WandbTestServer

if TYPE_CHECKING:
    from runlab.sources import RunRecord


def configure_client(*, graphql_timeout: float = 2.0) -> None:
    """Global wandb settings for tests: one quick wandb-core retry, a short request timeout."""
    import wandb

    wandb.setup(
        wandb.Settings(
            x_graphql_retry_max=1,  # 0 means "the default" to wandb-core
            x_graphql_retry_wait_min_seconds=0.01,
            x_graphql_retry_wait_max_seconds=0.02,
            x_graphql_timeout_seconds=graphql_timeout,
        )
    )


@pytest.fixture(name="wandb_server")
def wandb_server_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WandbTestServer]:
    """A fresh server; ``WANDB_BASE_URL``/``WANDB_API_KEY`` point the client at it."""
    with WandbTestServer() as server:
        monkeypatch.setenv("WANDB_BASE_URL", server.url)
        monkeypatch.setenv("WANDB_API_KEY", server.api_key)
        monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
        monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
        monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
        monkeypatch.setenv("WANDB_SILENT", "true")
        configure_client()
        yield server


#: Writes, with the real wandb client in offline mode, three runs of W&B sweep ``SWEEP_ID`` (the
#: last one fails) and one run outside it. Every run logs an ``environment_configs`` artifact; the
#: first also a 300 kB ``model`` artifact aliased ``best``.
SWEEP_ID = "swp7k2q9"
SWEEP_WRITER = """
import json, sys, wandb
from pathlib import Path

out = Path(sys.argv[1])
for i, lr in enumerate([1e-4, 3e-4, 1e-3, 5e-4]):
    run = wandb.init(mode="offline", dir=str(out), project="metta", entity="runlab-test", name=f"sweep_run_{i}",
                     config={"trainer": {"optimizer": {"learning_rate": lr}, "gamma": 0.99}},
                     settings=wandb.Settings(sweep_id=sys.argv[2] if i < 3 else None))
    for step in range(6):
        run.log({"overview/reward": (i + 1) * step, "metric/agent_step": 100 * step}, step=step)
    src = out / f"src{i}"
    src.mkdir()
    (src / "epoch.json").write_text(json.dumps({"epoch": i, "tasks": {"nav/<a>": 0.5, "mine": 0.5}}))
    art = wandb.Artifact("environment_configs", type="environment_configs", metadata={"epochs": 6, "run": i})
    art.add_file(str(src / "epoch.json"), name="configs/epoch_0000.json")
    run.log_artifact(art)
    if i == 0:
        (src / "weights.bin").write_bytes(bytes(range(256)) * 1200)
        model = wandb.Artifact("model", type="model", metadata={"step": 5})
        model.add_file(str(src / "weights.bin"), name="weights.bin")
        run.log_artifact(model, aliases=["best"])
    run.summary["score"] = 10.0 * (i + 1)
    run.finish(exit_code=1 if i == 2 else 0)
"""


@pytest.fixture(name="sweep_records", scope="session")
def sweep_records_fixture(tmp_path_factory: pytest.TempPathFactory) -> list[RunRecord]:
    """The records (offline reader) of the runs :data:`SWEEP_WRITER` writes, staged files still present."""
    import os
    import subprocess
    import sys

    from runlab.sources.wandb_offline import find_run_dirs, read_run

    out = tmp_path_factory.mktemp("sweep_offline")
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline", "WANDB_DATA_DIR": str(out / "data"),
           "WANDB_CACHE_DIR": str(out / "cache"), "WANDB_CONFIG_DIR": str(out / "config")}
    subprocess.run([sys.executable, "-c", SWEEP_WRITER, str(out), SWEEP_ID], check=True, env=env, timeout=180,
                   capture_output=True)
    records = [read_run(d) for d in find_run_dirs([out])]
    return sorted(records, key=lambda r: r.name)
