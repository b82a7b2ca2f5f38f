"""TensorBoard log directories as runs: CleanRL, stable-baselines3, RLlib, any ``SummaryWriter``.

A run is a folder holding ``events.out.tfevents.*`` files (several files in one folder, e.g. a
resumed run, are one run); folders are searched recursively, so ``runs/`` with one folder per run
works as is. What becomes of a run:

* scalars -> history on the run's ``global_step`` (``_step``), the tag as the metric name; wall
  time kept as ``_timestamp`` (and ``_runtime`` from the first event) at each step;
* config <- the conventional files next to the events (``config.yaml``, ``args.yml``, ...,
  :mod:`._runfiles`), then the HParams plugin (dotted names nest: ``trainer.lr``), then CleanRL's
  ``hyperparameters`` text table; an earlier source wins a key;
* name <- the folder (or a ``runlab.json`` sidecar); created/updated <- first/last wall time.

``SummaryWriter.add_hparams`` writes its HParams into a child folder named after ``time.time()``;
such a child is read as part of its parent run, not as a run of its own.

Reading goes through TensorBoard's own data server (:mod:`._tb_server`)::

    report = wh.ingest(TensorBoardReader(["runs/"]).records())
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from runlab.errors import NotFoundError, RunlabError
from runlab.sources._batch import Known, RecordBatch, RunFailure, SourceItem
from runlab.sources._record import RunRecord
from runlab.sources._runfiles import (
    CONFIG_FILES,
    apply_sidecar,
    history_table,
    merge_missing,
    read_config_files,
    summary_of,
    unflatten,
)
from runlab.sources._tb_server import DataServer, RunData, read_with_loader

__all__ = ["TensorBoardReader", "find_tensorboard_runs", "is_event_file"]

SOURCE = "tensorboard"
_HPARAMS_CHILD = re.compile(r"^\d{9,}\.\d+$")  # torch's add_hparams default run_name: str(time.time())
_MD_ROW = re.compile(r"^\s*\|(?P<key>[^|]+)\|(?P<value>.*)\|\s*$")


def is_event_file(name: str) -> bool:
    """Whether a file name is a TensorBoard event file (``events.out.tfevents.*``)."""
    return "tfevents" in name and name.startswith("events.out")


def find_tensorboard_runs(paths: Sequence[Path | str]) -> dict[Path, list[Path]]:
    """``root -> run folders under it`` for each path (an event file's root is its folder).

    A run folder holds event files; a child named like ``time.time()`` below a run folder is the
    parent's HParams (see the module doc), not a run. Raises :class:`NotFoundError` for a path
    that does not exist; a path holding no event file maps to an empty list.
    """
    out: dict[Path, list[Path]] = {}
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise NotFoundError(f"path {str(raw)!r} does not exist", hint="pass a TensorBoard log folder (e.g. runs/)")
        root = (path.parent if path.is_file() else path).resolve()
        runs = [d for d in _walk(root) if d not in seen] if path.is_dir() else [root] * is_event_file(path.name)
        seen.update(runs)
        out.setdefault(root, []).extend(runs)
    return out


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
        here = Path(dirpath)
        if not any(is_event_file(f) for f in filenames):
            continue
        if _HPARAMS_CHILD.match(here.name) and here != root and _has_events(here.parent):
            continue
        yield here


def _has_events(folder: Path) -> bool:
    return any(is_event_file(p.name) for p in folder.iterdir() if p.is_file())


class TensorBoardReader:
    """The TensorBoard runs under some paths, as a source (one item per run folder).

    ``exclude`` leaves out run folders another source reads (stable-baselines3 writes its
    ``progress.csv`` and its event file into one folder). Every run is read each pass: ``known``
    is taken for the common source protocol, and the warehouse's content fingerprint makes
    re-storing an unchanged run a no-op.
    """

    def __init__(self, paths: Sequence[Path | str] | Path | str, *, exclude: Collection[Path] = ()) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        self.paths = tuple(Path(p).expanduser() for p in paths)
        self.exclude = frozenset(Path(p).resolve() for p in exclude)

    def records(self, known: Known | None = None) -> RecordBatch:
        """One item per run folder; a path with no event file under it is a :class:`NotFoundError`."""
        found = find_tensorboard_runs(self.paths)
        plan = {root: [d for d in dirs if d not in self.exclude] for root, dirs in found.items()}
        total = sum(len(d) for d in plan.values())
        if not any(found.values()):
            shown = ", ".join(str(p) for p in self.paths) or "(no paths given)"
            raise NotFoundError(f"no TensorBoard event files (events.out.tfevents.*) under {shown}",
                                hint="point at the log folder your SummaryWriter wrote (CleanRL: runs/)")
        return RecordBatch(self._read(plan), total=total)

    def _read(self, plan: Mapping[Path, list[Path]]) -> Iterator[SourceItem]:
        for root, run_dirs in plan.items():
            if not run_dirs:
                continue
            with DataServer(root) as server:
                served = set(server.runs())
                for run_dir in run_dirs:
                    try:
                        yield _read_one(server, served, root, run_dir)
                    except RunlabError as exc:
                        yield RunFailure("", run_dir.name, str(exc), origin=str(run_dir))
                    except (OSError, ValueError, KeyError, TypeError) as exc:
                        yield RunFailure("", run_dir.name, f"{type(exc).__name__}: {exc}", origin=str(run_dir))


def _rel(root: Path, folder: Path) -> str:
    return folder.relative_to(root).as_posix() or "."


def _read_one(server: DataServer, served: set[str], root: Path, run_dir: Path) -> RunRecord:
    name = _rel(root, run_dir)
    children = sorted(n for n in served if n.rpartition("/")[0] == (name if name != "." else "")
                      and _HPARAMS_CHILD.match(n.rpartition("/")[2]))
    folders = ([name] if name in served else []) + children
    data = [server.read(n) for n in folders]
    if any(not steps for d in data for steps, _, _ in d.scalars.values()):
        data = [read_with_loader(sorted(p for p in (root / n).iterdir() if is_event_file(p.name))) for n in folders]
    if not any(d.scalars or d.hparams or d.texts for d in data):
        files = sorted(p.name for p in run_dir.iterdir() if is_event_file(p.name))
        raise RunlabError(f"no readable TensorBoard events in {str(run_dir)!r} ({len(files)} event file(s))",
                          hint="the files are damaged or hold no summaries; delete them or leave the folder out")
    return build_record(run_dir, root, data)


def build_record(run_dir: Path, root: Path, data: Sequence[RunData]) -> RunRecord:
    """The :class:`RunRecord` of one run folder from what the server read (the folder's own run first)."""
    record = RunRecord(run_id=f"{SOURCE}:{run_dir}", source=SOURCE, entity="local", project=root.name or "tensorboard",
                       name=run_dir.name, origin_path=str(run_dir))
    config = read_config_files(run_dir, record.problems, (*CONFIG_FILES, ".hydra/config.yaml"))
    for d in data:
        for content in d.hparams:
            merge_missing(config, unflatten(_hparams(content)))
    for d in data:
        for tag, texts in d.texts.items():
            if tag.partition("/")[0] in ("hyperparameters", "hparams", "config"):
                merge_missing(config, unflatten(_markdown_table(texts[-1] if texts else "")))
    record.config = config
    series, walls = _series(data)
    record.history = history_table(series)
    record.summary = summary_of({k: v for k, v in series.items() if not k.startswith("_")})
    if walls.size:
        record.created_at = datetime.fromtimestamp(float(walls.min()), tz=UTC)
        record.updated_at = datetime.fromtimestamp(float(walls.max()), tz=UTC)
    apply_sidecar(record, run_dir)
    return record


def _series(data: Sequence[RunData]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """``tag -> (steps, values)`` plus ``_timestamp``/``_runtime`` per step; and every wall time."""
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    all_steps, all_walls = [], []
    for d in data:
        for tag, (steps, walls, values) in sorted(d.scalars.items()):
            s, w, v = np.asarray(steps, np.int64), np.asarray(walls, np.float64), np.asarray(values, np.float64)
            order = np.argsort(s, kind="stable")
            if tag in series:
                s, v = np.concatenate([series[tag][0], s[order]]), np.concatenate([series[tag][1], v[order]])
                order = np.argsort(s, kind="stable")
            series[tag] = (s[order], v[order])
            all_steps.append(np.asarray(steps, np.int64))
            all_walls.append(w)
    if not all_steps:
        return series, np.empty(0)
    steps, walls = np.concatenate(all_steps), np.concatenate(all_walls)
    uniq, inverse = np.unique(steps, return_inverse=True)
    last = np.full(len(uniq), -np.inf)
    np.maximum.at(last, inverse, walls)
    series["_timestamp"] = (uniq, last)
    series["_runtime"] = (uniq, last - walls.min())
    return series, walls


def _hparams(content: bytes) -> dict[str, Any]:
    """The hyperparameters of an HParams ``session_start_info`` summary (other kinds: ``{}``)."""
    from google.protobuf import json_format
    from tensorboard.plugins.hparams import plugin_data_pb2

    msg = plugin_data_pb2.HParamsPluginData.FromString(content)
    if not msg.HasField("session_start_info"):
        return {}
    return {k: json_format.MessageToDict(v) for k, v in msg.session_start_info.hparams.items()}


def _markdown_table(text: str) -> dict[str, Any]:
    """CleanRL's ``|param|value|`` table as a dict; values read as YAML scalars (``0.1``, ``True``)."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        m = _MD_ROW.match(line)
        if not m:
            continue
        key, value = m.group("key").strip(), m.group("value").strip()
        if not key or set(key) <= set("-: ") or (key, value) == ("param", "value"):
            continue
        out[key] = _scalar(value)
    return out


def _scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, str | int | float | bool) or value is None else text
