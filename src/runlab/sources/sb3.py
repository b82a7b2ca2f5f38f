"""stable-baselines3 and RL Zoo log folders as runs: ``progress.csv``, ``monitor.csv``, ``evaluations.npz``.

A run is a folder holding any of these files (what SB3's ``configure(folder, ["csv"])``,
``Monitor`` / ``make_vec_env(monitor_dir=...)`` and ``EvalCallback(log_path=...)`` write; the
RL Zoo puts all three in ``logs/<algo>/<env>_<n>/``). What becomes of a run:

* ``progress.csv`` -> every numeric column as a metric on ``time/total_timesteps`` (the step);
  an empty cell is a value not logged at that row (SB3 leaves keys out), ``nan`` is a NaN;
* ``*monitor.csv`` -> ``monitor/episode_reward`` and ``monitor/episode_length`` per finished
  episode, on the total steps taken by all of the run's environments when it ended;
* ``evaluations.npz`` -> ``eval/mean_reward``, ``eval/std_reward``, ``eval/mean_ep_length``
  (and ``eval/success_rate`` when logged) on its ``timesteps``; these replace the same-named
  columns EvalCallback also logs to ``progress.csv``;
* config <- the conventional files in the folder or a child folder (the zoo's
  ``<env>/config.yml`` and ``args.yml``, whose ``OrderedDict`` tag is read with a safe loader);
  name <- the folder (or a ``runlab.json`` sidecar); project <- the parent folder (the zoo's algo).

::

    report = wh.ingest(SB3Reader(["logs/"]).records())
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from runlab.errors import CorruptRunFileError, NotFoundError, RunlabError
from runlab.sources._batch import Known, RecordBatch, RunFailure, SourceItem
from runlab.sources._record import RunRecord
from runlab.sources._runfiles import CONFIG_FILES, apply_sidecar, history_table, read_config_files, summary_of

__all__ = ["SB3Reader", "find_sb3_runs", "is_sb3_run"]

SOURCE = "sb3"
STEP_COLUMN = "time/total_timesteps"
Series = dict[str, tuple[np.ndarray, np.ndarray]]


def is_sb3_run(folder: Path) -> bool:
    """Whether ``folder`` holds a ``progress.csv``, a ``*monitor.csv`` or an ``evaluations.npz``."""
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except OSError:
        return False
    return any(_is_log_file(n) for n in names)


def _is_log_file(name: str) -> bool:
    return name in ("progress.csv", "evaluations.npz") or name.endswith("monitor.csv")


def find_sb3_runs(paths: Sequence[Path | str]) -> list[Path]:
    """The SB3 run folders at or under ``paths`` (a file stands for its folder), each once, sorted."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise NotFoundError(f"path {str(raw)!r} does not exist", hint="pass an SB3 log folder (e.g. logs/)")
        if path.is_file():
            if _is_log_file(path.name):
                found.add(path.parent.resolve())
            continue
        for dirpath, dirnames, _ in os.walk(path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
            if is_sb3_run(Path(dirpath)):
                found.add(Path(dirpath).resolve())
    return sorted(found)


class SB3Reader:
    """The SB3 / RL Zoo runs under some paths, as a source (one item per run folder).

    Every run is read each pass: ``known`` is taken for the common source protocol, and the
    warehouse's content fingerprint makes re-storing an unchanged run a no-op.
    """

    def __init__(self, paths: Sequence[Path | str] | Path | str) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        self.paths = tuple(Path(p).expanduser() for p in paths)

    def records(self, known: Known | None = None) -> RecordBatch:
        """One item per run folder; paths holding none is a :class:`NotFoundError`."""
        run_dirs = find_sb3_runs(self.paths)
        if not run_dirs:
            shown = ", ".join(str(p) for p in self.paths) or "(no paths given)"
            raise NotFoundError(f"no stable-baselines3 logs (progress.csv, monitor.csv, evaluations.npz) under {shown}",
                                hint="point at the folder given to configure(), Monitor or EvalCallback(log_path=)")
        return RecordBatch(self._read(run_dirs), total=len(run_dirs))

    def _read(self, run_dirs: list[Path]) -> Iterator[SourceItem]:
        for run_dir in run_dirs:
            try:
                yield read_sb3_run(run_dir)
            except RunlabError as exc:
                yield RunFailure("", run_dir.name, str(exc), origin=str(run_dir))
            except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
                yield RunFailure("", run_dir.name, f"{type(exc).__name__}: {exc}", origin=str(run_dir))


def read_sb3_run(run_dir: Path) -> RunRecord:
    """One SB3 run folder as a :class:`RunRecord` (see the module doc)."""
    record = RunRecord(run_id=f"{SOURCE}:{run_dir}", source=SOURCE, entity="local",
                       project=run_dir.parent.name or "sb3", name=run_dir.name, origin_path=str(run_dir))
    series: Series = {}
    if (run_dir / "evaluations.npz").is_file():
        series.update(_evaluations(run_dir / "evaluations.npz"))
    if (run_dir / "progress.csv").is_file():
        for metric, points in _progress(run_dir / "progress.csv", record.problems).items():
            series.setdefault(metric, points)
    monitors = sorted(p for p in run_dir.iterdir() if p.is_file() and p.name.endswith("monitor.csv"))
    if monitors:
        episodes, started = _monitor(monitors, record.problems)
        series.update(episodes)
        if started is not None:
            record.created_at = datetime.fromtimestamp(started, tz=UTC)
    record.config = _config(run_dir, record.problems)
    record.history = history_table(dict(sorted(series.items())))
    record.summary = summary_of(series)
    apply_sidecar(record, run_dir)
    return record


def _config(run_dir: Path, problems: list[str]) -> dict:
    config = read_config_files(run_dir, problems)
    for child in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        if any((child / n).is_file() for n in CONFIG_FILES):  # the zoo's <env>/config.yml + args.yml
            more = read_config_files(child, problems)
            for key, value in more.items():
                config.setdefault(key, value)
    return config


def _evaluations(path: Path) -> Series:
    """EvalCallback's arrays: ``timesteps (n,)``, ``results`` / ``ep_lengths (n, episodes)``, ``successes``."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptRunFileError(f"{str(path)!r} is not a readable evaluations.npz: {type(exc).__name__}: {exc}",
                                  hint="the run was cut while saving it; delete the file to ingest the rest") from None
    if "timesteps" not in arrays or "results" not in arrays:
        raise CorruptRunFileError(f"{str(path)!r} has no timesteps/results arrays (has {sorted(arrays)})",
                                  hint="EvalCallback(log_path=...) writes this file; other .npz files are not logs")
    steps = arrays["timesteps"].astype(np.int64).ravel()
    results = arrays["results"].reshape(len(steps), -1).astype(np.float64)
    out: Series = {"eval/mean_reward": (steps, results.mean(axis=1)), "eval/std_reward": (steps, results.std(axis=1))}
    if "ep_lengths" in arrays:
        out["eval/mean_ep_length"] = (steps, arrays["ep_lengths"].reshape(len(steps), -1).astype(np.float64).mean(axis=1))
    if arrays.get("successes") is not None and arrays["successes"].size:
        out["eval/success_rate"] = (steps, arrays["successes"].reshape(len(steps), -1).astype(np.float64).mean(axis=1))
    return out


def _progress(path: Path, problems: list[str]) -> Series:
    """Numeric columns of SB3's CSV log; empty cells are absent values, text cells are counted and left out."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        problems.append(f"{path.name} is empty")
        return {}
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CorruptRunFileError(f"{str(path)!r} is not a readable CSV log: {exc}",
                                  hint="SB3's logger writes it; a damaged copy can be deleted") from None
    if STEP_COLUMN not in table.columns:
        raise CorruptRunFileError(f"{str(path)!r} has no {STEP_COLUMN} column (columns: {list(table.columns)[:8]})",
                                  hint="the step of each row comes from it; SB3's logger writes it every dump")
    raw_steps = pd.to_numeric(table[STEP_COLUMN], errors="coerce")
    good = raw_steps.notna().to_numpy()
    if not good.all():
        problems.append(f"{path.name}: {int((~good).sum())} row(s) without a step were left out (a cut last line?)")
    steps = raw_steps.to_numpy()[good].astype(np.int64)
    out: Series = {}
    skipped = 0
    for column in table.columns:
        if column == STEP_COLUMN:
            continue
        text = table[column].to_numpy()[good].astype(str)
        present = text != ""
        numbers, numeric = _floats(text[present])
        skipped += int((~numeric).sum())
        if numeric.any():
            out[column] = (steps[present][numeric], numbers[numeric])
    if skipped:
        problems.append(f"{path.name}: {skipped} non-numeric value(s) were left out of the history")
    return out


def _floats(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact float parsing (Python's, not pandas' fast approximate one); ``(values, parsed mask)``."""
    try:
        return text.astype(np.float64), np.ones(len(text), bool)
    except ValueError:
        pass
    values, ok = np.full(len(text), np.nan), np.zeros(len(text), bool)
    for i, cell in enumerate(text.tolist()):
        try:
            values[i], ok[i] = float(cell), True
        except ValueError:
            continue
    return values, ok


def _monitor(paths: list[Path], problems: list[str]) -> tuple[Series, float | None]:
    """Episodes of every ``Monitor`` file, merged in finishing order; and the earliest ``t_start``."""
    import pandas as pd

    frames, starts = [], []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
        if first.startswith("#"):
            try:
                header = json.loads(first[1:])
                starts.append(float(header.get("t_start", np.nan)))
            except ValueError:
                problems.append(f"{path.name}: its #-header line is not JSON")
        try:
            frame = pd.read_csv(path, comment=None, skiprows=1 if first.startswith("#") else 0)
        except pd.errors.EmptyDataError:
            continue
        if not {"r", "l", "t"} <= set(frame.columns):
            raise CorruptRunFileError(f"{str(path)!r} has no r, l, t columns (has {list(frame.columns)[:6]})",
                                      hint="stable-baselines3's Monitor wrapper writes these files")
        frames.append(frame[["r", "l", "t"]].apply(pd.to_numeric, errors="coerce").dropna())
    if not frames:
        return {}, None
    episodes = pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")
    steps = np.cumsum(episodes["l"].to_numpy(np.int64))
    started = min((s for s in starts if np.isfinite(s)), default=None)
    return ({"monitor/episode_reward": (steps, episodes["r"].to_numpy(np.float64)),
             "monitor/episode_length": (steps, episodes["l"].to_numpy(np.float64))}, started)
