"""Finding a run's env-config history: a file, an offline run folder, the warehouse, or the W&B API.

The warehouse keeps a copy of every artifact file of an ingested or fetched run, so the usual path
is ``load_history("curr-lp-s0", warehouse=wh)``. A tracker uploads several versions of the same
artifact over training; each is cumulative, so the version with the most recorded epochs wins.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runlab.envconfig._history import ConfigHistory
from runlab.envconfig._tracker import ARTIFACT_TYPE, HISTORY_FILE
from runlab.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

_WANDB_PATH = re.compile(r"^(?:wandb:)?[\w.-]+/[\w.-]+/[\w.-]+$")
_HOW_TO_LOG = ("log it with runlab.envconfig.ConfigTracker(run) in the trainer; for a run fetched from W&B, "
               "fetch its files with `runlab fetch ENTITY/PROJECT --artifact-types environment_configs`")


def load_history(source: Any, *, warehouse: Warehouse | None = None) -> ConfigHistory:
    """The :class:`ConfigHistory` of ``source``.

    ``source``: a history JSON file; a folder holding one (an offline run folder, a downloaded
    artifact); a run id, short id or name in ``warehouse``; or ``entity/project/run_id`` on the
    W&B API. Also accepts decoded JSON or a history (returned as is).
    """
    if isinstance(source, ConfigHistory):
        return source
    if isinstance(source, Mapping):
        return ConfigHistory.from_json(source)
    path = Path(str(source)).expanduser()
    if path.is_file():
        return read_history_file(path)
    if path.is_dir():
        return _from_folder(path)
    if warehouse is not None:
        return from_warehouse(warehouse, str(source))
    if _WANDB_PATH.match(str(source)):
        return from_wandb_api(str(source))
    raise NotFoundError(f"no env-config history at {str(source)!r}: not a file, a folder or a W&B run path",
                        hint="pass a history file, an offline run folder, entity/project/run_id, or a run "
                        "in the warehouse")


def read_history_file(path: Path) -> ConfigHistory:
    """Parse one JSON file in any of the three formats."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read env-config history {path}: {exc}") from None
    return ConfigHistory.from_json(data, where=str(path))


def _best(histories: Iterable[ConfigHistory], where: str) -> ConfigHistory:
    """The most complete version: most recorded epochs, then the latest last epoch."""
    found = list(histories)
    if not found:
        raise NotFoundError(f"{where} has no {ARTIFACT_TYPE} history file", hint=_HOW_TO_LOG)
    return max(found, key=lambda h: (h.epochs_recorded, h.spans[-1].last_epoch if h.spans else -1))


def _files_in(folder: Path) -> list[Path]:
    """History files under ``folder``: ``env_config_history.json`` first; else any other JSON."""
    named = sorted(folder.rglob(HISTORY_FILE))
    return named or sorted(p for p in folder.rglob("*.json") if p.is_file())


def _from_folder(folder: Path) -> ConfigHistory:
    """A folder with history files: an offline run folder (copies under ``files/artifacts/``, else
    the staged artifact files its log names) or a folder of one run's history versions."""
    if not any(folder.glob("*.wandb")):
        files = _files_in(folder)
        runs = {_run_of(p, folder) for p in files}
        if len(runs) > 1:
            raise InputError(f"{folder} holds the env-config histories of {len(runs)} runs",
                             hint=f"name one run folder, e.g. {sorted(runs)[0]}")
        return _best(map(read_history_file, files), str(folder))
    kept = sorted((folder / "files" / "artifacts").glob(f"*/{HISTORY_FILE}"))
    if kept:
        return _best(map(read_history_file, kept), f"run folder {folder}")
    from runlab.sources.wandb_offline import read_run

    rec = read_run(folder)
    files = [Path(p) for a in rec.artifacts if a.type == ARTIFACT_TYPE for p in a.files.values()]
    return _best(map(read_history_file, [p for p in files if p.suffix == ".json"]), f"run folder {folder}")


def _run_of(path: Path, top: Path) -> Path:
    """The run folder (one holding a ``.wandb`` log) a history file belongs to, else ``top``."""
    for parent in path.parents:
        if parent == top or not parent.is_relative_to(top):
            break
        if any(parent.glob("*.wandb")):
            return parent
    return top


def from_warehouse(wh: Warehouse, ref: str) -> ConfigHistory:
    """The history kept with a run in the warehouse (its ``environment_configs`` artifact copy)."""
    run_id = wh.resolve_run(ref)
    arts = wh.artifacts([run_id])
    arts = arts[arts["type"] == ARTIFACT_TYPE]
    if arts.empty:
        raise NotFoundError(f"run {run_id} has no {ARTIFACT_TYPE} artifact", hint=_HOW_TO_LOG)
    folders = [Path(p) for p in arts["path"] if p]
    if not folders:
        raise NotFoundError(f"run {run_id} lists {len(arts)} {ARTIFACT_TYPE} artifact(s), but their files were "
                            "not kept", hint=_HOW_TO_LOG)
    histories = [read_history_file(f) for folder in folders for f in _files_in(folder)]
    hist = _best(histories, f"run {run_id}")
    hist.meta.setdefault("run_id", run_id)
    return hist


def from_wandb_api(path: str, *, api: Any = None) -> ConfigHistory:
    """Download the latest ``environment_configs`` artifact of ``entity/project/run_id`` and read it."""
    from runlab.sources.wandb_api import make_api

    api = api or make_api()
    run_path = path.removeprefix("wandb:")
    try:
        run = api.run(run_path)
        arts = [a for a in run.logged_artifacts() if a is not None and a.type == ARTIFACT_TYPE]
    except Exception as exc:
        raise NotFoundError(f"cannot read W&B run {run_path}: {exc}",
                            hint="check the entity/project/run_id and WANDB_API_KEY") from None
    if not arts:
        raise NotFoundError(f"W&B run {run_path} has no {ARTIFACT_TYPE} artifact", hint=_HOW_TO_LOG)
    art = max(enumerate(arts), key=lambda ia: (_version_number(ia[1]), ia[0]))[1]
    with tempfile.TemporaryDirectory(prefix="runlab-envconfig-") as tmp:
        art.download(root=tmp)
        hist = _best(map(read_history_file, _files_in(Path(tmp))), f"W&B run {run_path}")
    hist.meta.setdefault("run_id", run_path)
    return hist


def _version_number(art: Any) -> int:
    m = re.fullmatch(r"v(\d+)", str(getattr(art, "version", "")))
    return int(m.group(1)) if m else -1
