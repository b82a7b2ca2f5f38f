"""Where a trial's objective comes from: the sources a finished trainer may have left behind.

A trainer reports in one of three ways, tried in this order: ``$RUNLAB_TRIAL_DIR/results.json``
(what :func:`runlab.sweep.report_result` writes), the last JSON line on its stdout holding the
metric, or the summary of the W&B run it logged under the trial folder (``WANDB_DIR`` is the
trial folder), online (``wandb-summary.json``) or offline (the ``run-*.wandb`` transaction log,
read by runlab's offline reader). The library owns all three, so :func:`runlab.sweep.run_sweep`
from Python reads exactly what ``runlab sweep run`` reads.

Each source is a small picklable object with one method, so a Ray worker can run the chain and a
user can put their own source in front (``RunnerOptions(objective_sources=(Mine(), *DEFAULT_SOURCES))``).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

RESULTS_FILE = "results.json"
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"


class ObjectiveSource(Protocol):
    """One way a trainer reports its objective."""

    @property
    def name(self) -> str:
        """Recorded as the trial's ``_source`` (``results.json``, ``stdout``, ``wandb``...)."""
        ...

    def read(self, trial_dir: Path, metric: str) -> dict[str, Any] | None:
        """The trainer's report (a dict holding ``metric`` or ``score``), or ``None`` if absent."""
        ...


@dataclass(frozen=True)
class ResultsFile:
    """``<trial>/results.json``: any JSON object there is the report, even one missing the metric
    (the runner then fails the trial naming the missing key rather than looking elsewhere)."""

    name: str = RESULTS_FILE

    def read(self, trial_dir: Path, metric: str) -> dict[str, Any] | None:
        path = trial_dir / RESULTS_FILE
        if path.exists():
            with contextlib.suppress(ValueError, OSError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    return data
        return None


@dataclass(frozen=True)
class StdoutJson:
    """The last line of the trainer's stdout that is a JSON object holding the metric or ``score``."""

    name: str = "stdout"

    def read(self, trial_dir: Path, metric: str) -> dict[str, Any] | None:
        path = trial_dir / STDOUT_FILE
        if not path.exists():
            return None
        found: dict[str, Any] | None = None
        with open(path, encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                line = raw.strip()
                if not line.startswith("{"):
                    continue
                with contextlib.suppress(ValueError):
                    data = json.loads(line)
                    if isinstance(data, dict) and (metric in data or "score" in data):
                        found = data
        return found


@dataclass(frozen=True)
class WandbSummary:
    """The summary of the newest W&B run under ``<trial>/wandb`` that holds the metric: the
    ``wandb-summary.json`` an online run syncs, else the offline run's transaction log."""

    name: str = "wandb"

    def read(self, trial_dir: Path, metric: str) -> dict[str, Any] | None:
        root = trial_dir / "wandb"
        if not root.is_dir():
            return None
        summary = _summary_json(root, metric)
        if summary is None:
            with contextlib.suppress(Exception):  # an unreadable log is "no result", reported as such
                summary = _offline_summary(root)
            if summary is not None and metric not in summary and "score" not in summary:
                summary = None
        return summary


def _summary_json(root: Path, metric: str) -> dict[str, Any] | None:
    files = sorted(root.glob("*run-*/files/wandb-summary.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(files):
        with contextlib.suppress(ValueError, OSError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and (metric in data or "score" in data):
                return data
    return None


def _offline_summary(root: Path) -> dict[str, Any] | None:
    """The newest offline run's summary, through the sources layer's reader (imported here only:
    it pulls in the W&B protobufs)."""
    from runlab.sources.wandb_offline import find_run_dirs, read_run

    runs = sorted(find_run_dirs([root]), key=lambda p: p.stat().st_mtime)
    return dict(read_run(runs[-1]).summary) if runs else None


#: Every source the library knows, in the order they are tried.
DEFAULT_SOURCES: tuple[ObjectiveSource, ...] = (ResultsFile(), StdoutJson(), WandbSummary())


def read_objective(
    trial_dir: Path, metric: str, sources: tuple[ObjectiveSource, ...] = DEFAULT_SOURCES,
) -> tuple[str, dict[str, Any]] | None:
    """``(source name, report)`` from the first source that has a report, else ``None``."""
    for source in sources:
        found = source.read(Path(trial_dir), metric)
        if found is not None:
            return source.name, found
    return None


__all__ = [
    "DEFAULT_SOURCES",
    "RESULTS_FILE",
    "STDERR_FILE",
    "STDOUT_FILE",
    "ObjectiveSource",
    "ResultsFile",
    "StdoutJson",
    "WandbSummary",
    "read_objective",
]
