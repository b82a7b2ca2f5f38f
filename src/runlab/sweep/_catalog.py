"""Finding sweeps without creating them: what the reading commands (``status``, ``best``, ``plot``,
``list``, ``export-optuna``) open.

Opening a :class:`SweepStore` creates its database and tables, which is right for ``init`` and
``run`` but wrong for a command that only looks: a typo in a sweep name must not leave an empty
``sweeps/<typo>/sweep.db`` behind. These helpers check that the sweep exists first and name the
near misses when it does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from runlab.errors import NotFoundError, did_you_mean
from runlab.sweep._runner import sweep_dir
from runlab.sweep._store import TRIAL_STATES, SweepStore, check_sweep_name

DB_FILE = "sweep.db"


def local_sweep_names(home: Path) -> list[str]:
    """Sweeps with a default SQLite store under ``<home>/sweeps/``, sorted."""
    root = Path(home) / "sweeps"
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{DB_FILE}") if p.is_file())


def open_existing_store(home: Path, name: str, url: str | None = None) -> SweepStore:
    """The store of an existing sweep; :class:`NotFoundError` (with did-you-mean) and nothing
    created when there is no such sweep. A ``url`` store is opened and asked for the name."""
    check_sweep_name(name)
    if url:
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
            raise _missing(name, [], where=url)
        store = SweepStore(url)
        names = store.sweep_names()
        if name not in names:
            store.close()
            raise _missing(name, names, where=store.url_display)
        return store
    path = sweep_dir(home, name) / DB_FILE
    if not path.is_file():
        raise _missing(name, local_sweep_names(home), where=str(Path(home) / "sweeps"))
    return SweepStore(path)


def _missing(name: str, names: list[str], *, where: str) -> NotFoundError:
    known = f"existing sweeps: {', '.join(names)}" if names else "there are no sweeps yet"
    hint = did_you_mean(name, names, fallback=known)
    if hint != known and names:
        hint = f"{hint} ({known})"
    return NotFoundError(f"sweep {name!r} does not exist in {where}",
                         hint=f"{hint}; create one with 'runlab sweep init {name} --config sweep.yaml'")


@dataclass(frozen=True, kw_only=True)
class SweepSummary:
    """One line of ``runlab sweep list``."""

    name: str
    goal: str
    metric: str
    method: str
    created_at: float
    """Unix seconds."""
    trials: dict[str, int] = field(default_factory=dict)
    """Trial count by state (every state of :data:`TRIAL_STATES`, zeros included)."""
    best: float | None = None
    """Best successful score under ``goal`` (``None`` before the first success)."""


def summarize(store: SweepStore, name: str) -> SweepSummary:
    """Counts by state and the best score of one sweep."""
    info = store.get_sweep(name)
    trials = store.trials(name)
    goal = str(info.config.get("goal", "maximize"))
    scores = [float(t.score) for t in trials if t.state == "success" and t.score is not None
              and math.isfinite(t.score)]
    best = (max(scores) if goal == "maximize" else min(scores)) if scores else None
    return SweepSummary(name=name, goal=goal, metric=str(info.config.get("metric", "score")),
                        method=str(info.config.get("method", "bayes")), created_at=info.created_at,
                        trials={s: sum(t.state == s for t in trials) for s in TRIAL_STATES}, best=best)


def list_sweeps(home: Path, url: str | None = None) -> list[SweepSummary]:
    """Every sweep under ``<home>/sweeps/`` (or in the ``url`` store), by name; creates nothing."""
    if url:
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
            return []
        with SweepStore(url) as store:
            return [summarize(store, n) for n in store.sweep_names()]
    out = []
    for name in local_sweep_names(home):
        with SweepStore(sweep_dir(home, name) / DB_FILE) as store:
            out.extend(summarize(store, n) for n in store.sweep_names() if n == name)
    return out


__all__ = ["SweepSummary", "list_sweeps", "local_sweep_names", "open_existing_store", "summarize"]
