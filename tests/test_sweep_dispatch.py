"""Dispatchers and objective sources: the shared dispatcher suite on local processes (the Ray
run of the same suite is in ``test_sweep_ray.py``), and the objective sources the library reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from runlab.sweep import (
    DEFAULT_SOURCES,
    Dispatcher,
    LocalDispatcher,
    RayDispatcher,
    ResultsFile,
    StdoutJson,
    WandbSummary,
    make_dispatcher,
    read_objective,
)
from runlab.testing.sweep import DispatcherSuite


class TestLocalDispatcher(DispatcherSuite):
    @pytest.fixture
    def make_dispatcher(self) -> Callable[[int], Dispatcher]:
        return LocalDispatcher


def test_both_dispatchers_satisfy_the_protocol() -> None:
    local = make_dispatcher("local", parallel=2)
    assert isinstance(local, Dispatcher) and isinstance(local, LocalDispatcher)
    local.close()
    assert all(callable(getattr(RayDispatcher, m, None)) for m in ("submit", "abort", "close"))


def test_the_sources_are_tried_in_order(tmp_path: Path) -> None:
    (tmp_path / "stdout.log").write_text('noise\n{"score": 1.0}\n{"other": 2}\n{"reward": 3.0, "cost": 4}\nend\n')
    assert read_objective(tmp_path, "reward") == ("stdout", {"reward": 3.0, "cost": 4})
    assert read_objective(tmp_path, "missing") == ("stdout", {"score": 1.0})  # 'score' always counts
    summary = tmp_path / "wandb" / "offline-run-20250101_000000-abc" / "files" / "wandb-summary.json"
    summary.parent.mkdir(parents=True)
    summary.write_text(json.dumps({"reward": 5.0}))
    assert read_objective(tmp_path, "reward", (WandbSummary(), StdoutJson())) == ("wandb", {"reward": 5.0})
    (tmp_path / "results.json").write_text(json.dumps({"elsewhere": 1}))
    # results.json wins even without the metric: the trial then fails naming the missing key
    assert read_objective(tmp_path, "reward") == ("results.json", {"elsewhere": 1})
    assert read_objective(tmp_path / "none", "reward") is None
    assert [s.name for s in DEFAULT_SOURCES] == ["results.json", "stdout", "wandb"]
    assert isinstance(DEFAULT_SOURCES[0], ResultsFile)


def test_a_broken_results_file_or_summary_is_no_result(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{not json")
    assert ResultsFile().read(tmp_path, "score") is None
    junk = tmp_path / "wandb" / "offline-run-x" / "run-x.wandb"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"\x00garbage" * 10)
    assert WandbSummary().read(tmp_path, "score") is None
