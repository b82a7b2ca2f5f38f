"""pytest fixtures: a running test server with the environment the real wandb client needs.

Import the fixtures into a test module (``from wandb_server.fixtures import wandb_server_fixture``;
the fixture is named ``wandb_server``).
wandb-core's own GraphQL retries are cut to one quick retry and its HTTP timeout shortened, so the
collector's retry logic is what the fault-injection tests exercise, and they stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._server import WandbTestServer


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
