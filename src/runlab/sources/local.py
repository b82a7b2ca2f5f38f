"""Runs in local folders, whatever wrote them: W&B offline runs, TensorBoard logs, SB3 / RL Zoo logs.

``runlab ingest DIR`` is handed folders as users have them (a project root holding ``wandb/``,
``runs/`` and ``logs/`` side by side), so :class:`LocalRuns` looks at what each folder holds and
composes the matching sources into one batch. A folder SB3 wrote both ``progress.csv`` and an event
file into is read once, as an SB3 run. A path holding none of the formats is a
:class:`NotFoundError` naming all three.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

from runlab.errors import NotFoundError
from runlab.sources._batch import Known, RecordBatch, RunSource, SourceItem

__all__ = ["LocalRuns"]


class LocalRuns:
    """Every run under some paths, read by the source each folder's files call for (see the module doc)."""

    def __init__(self, paths: Sequence[Path | str] | Path | str) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        self.paths = tuple(Path(p).expanduser() for p in paths)

    def sources(self) -> list[RunSource]:
        """The sources that have runs under :attr:`paths` (W&B offline, SB3, TensorBoard)."""
        from runlab.sources.sb3 import SB3Reader, find_sb3_runs
        from runlab.sources.tensorboard import TensorBoardReader, find_tensorboard_runs
        from runlab.sources.wandb_offline import WandBOfflineReader

        missing = [p for p in self.paths if not p.exists()]
        if missing:
            raise NotFoundError(f"path {str(missing[0])!r} does not exist",
                                hint="pass a wandb/ folder, a TensorBoard log folder or an SB3 log folder")
        wandb = {p: _wandb_runs(p) for p in self.paths}
        wandb_dirs = [d for dirs in wandb.values() for d in dirs]
        sb3_dirs = set(find_sb3_runs(self.paths))
        # SB3 writes progress.csv and its event file into one folder; wandb copies synced event files
        # into its run folders: either way the run is read once, by the other source.
        tb_dirs = {d for dirs in find_tensorboard_runs(self.paths).values() for d in dirs
                   if d not in sb3_dirs and not any(_under(d, w) for w in wandb_dirs)}
        empty = [p for p in self.paths
                 if not wandb[p] and not any(_under(d, p) for d in (*sb3_dirs, *tb_dirs))]
        if empty:
            raise NotFoundError(
                "no W&B run folders (offline-run-*), TensorBoard event files (events.out.tfevents.*) or SB3 logs "
                f"(progress.csv, monitor.csv, evaluations.npz) under {', '.join(repr(str(p)) for p in empty)}",
                hint="point at the folder your trainer logged into (wandb/, runs/, logs/)")
        found: list[RunSource] = []
        if wandb_dirs:
            found.append(WandBOfflineReader([p for p in self.paths if wandb[p]]))
        if sb3_dirs:
            found.append(SB3Reader(sorted(sb3_dirs)))
        if tb_dirs:
            tb_paths = [p for p in self.paths if any(_under(d, p) for d in tb_dirs)]
            everything = {d for dirs in find_tensorboard_runs(tb_paths).values() for d in dirs}
            found.append(TensorBoardReader(tb_paths, exclude=everything - tb_dirs))
        return found

    def records(self, known: Known | None = None) -> RecordBatch:
        """One batch over every source found, in turn (sized up front, read lazily)."""
        batches = [source.records(known=known) for source in self.sources()]
        return RecordBatch(_chain(batches), total=sum(len(b) for b in batches))


def _wandb_runs(path: Path) -> list[Path]:
    from runlab.sources.wandb_offline import find_run_dirs

    try:
        return find_run_dirs([path])
    except NotFoundError:
        return []


def _under(folder: Path, path: Path) -> bool:
    root = (path.parent if path.is_file() else path).resolve()
    return folder == root or root in folder.parents


def _chain(batches: list[RecordBatch]) -> Iterator[SourceItem]:
    try:
        yield from itertools.chain.from_iterable(batches)
    finally:
        for batch in batches:
            batch.close()
