"""Shared fixtures: warehouses in temporary folders, RunRecord builders, real W&B offline runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from runlab.sources import HISTORY_SCHEMA, RunRecord
from runlab.warehouse import Warehouse

TESTS = Path(__file__).parent

Series = Mapping[str, Sequence[tuple[int, float]]]


def history_table(series: Series) -> pa.Table:
    """Long-form history from ``{metric: [(step, value), ...]}``, ordered by step."""
    rows = sorted((int(s), m, float(v)) for m, pts in series.items() for s, v in pts)
    return pa.table(
        {"step": [r[0] for r in rows], "metric": [r[1] for r in rows], "value": [r[2] for r in rows]},
        schema=HISTORY_SCHEMA,
    )


def record(run_id: str, series: Series | None = None, **fields: Any) -> RunRecord:
    """A RunRecord with ``source='test'`` and the given history and fields."""
    return RunRecord(run_id=run_id, source=fields.pop("source", "test"), history=history_table(series or {}), **fields)


@pytest.fixture(autouse=True)
def _numpy_error_state() -> Iterator[None]:
    """Every test starts and ends with numpy's default error handling: a library that changes it at
    import (syllabus-rl sets ``np.seterr(all="raise")``) must not change other tests' arithmetic."""
    import numpy as np

    before = np.geterr()
    yield
    np.seterr(**before)


@pytest.fixture
def make_record() -> Callable[..., RunRecord]:
    """``make_record(run_id, {metric: [(step, value)]}, name=..., config=...)``."""
    return record


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """A writable, empty warehouse in a temporary folder."""
    with Warehouse.open(tmp_path / "home") as w:
        yield w


@pytest.fixture(scope="session")
def offline_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Runs written by the real wandb client in offline mode (``tests/data_offline/make_runs.py``).

    Cases: ``main`` (hostile name/tags, nested config, NaN/inf, table, artifact), ``failed``
    (exit code 1), ``long`` (1,500 steps). Written in a child process, once per session.
    """
    from offline_wandb import write_offline

    out = tmp_path_factory.mktemp("offline")
    dirs = write_offline([str(TESTS / "data_offline" / "make_runs.py"), str(out), "main", "failed", "long"], out)
    return {name: Path(p) for name, p in dirs.items()}
