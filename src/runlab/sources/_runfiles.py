"""What the file-based sources (TensorBoard, stable-baselines3) share: configs, metadata, history.

Runs written by trainers that do not use W&B keep their configuration next to their logs in a few
conventional files (Hydra's ``config.yaml``, RL Zoo's ``config.yml`` / ``args.yml``, a plain
``config.json``), and say nothing about names or tags beyond the folder name. This module reads
those files, always safely: RL Zoo writes ``!!python/object/apply:collections.OrderedDict``, which
:class:`ZooSafeLoader` turns into a plain dict without ever constructing a Python object. An
optional ``runlab.json`` sidecar (``{"name", "tags", "group", "notes", "state"}``) names a run
beyond what a folder name can hold (``/``, newlines).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from runlab.sources._record import HISTORY_SCHEMA, RunRecord

#: Config files read, in order; later files fill keys the earlier ones lack (nothing is overwritten).
CONFIG_FILES: tuple[str, ...] = ("config.yaml", "config.yml", "config.json", "args.yml", "args.yaml")
#: The optional metadata sidecar (see the module doc).
SIDECAR = "runlab.json"
_ORDERED_DICT = "tag:yaml.org,2002:python/object/apply:collections.OrderedDict"


class ZooSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads RL Zoo's OrderedDict tag, as a plain dict.

    The tag's argument is a list of ``[key, value]`` pairs; nothing else python-specific is
    accepted (any other ``!!python/...`` tag stays a ConstructorError, as with SafeLoader).
    """


def _ordered_dict(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    if isinstance(node, yaml.SequenceNode) and node.value:
        pairs = loader.construct_sequence(node.value[0], deep=True) if len(node.value) == 1 else []
    elif isinstance(node, yaml.MappingNode):  # the long form: {args: [[[k, v], ...]]}
        spec = loader.construct_mapping(node, deep=True)
        pairs = (spec.get("args") or [[]])[0]
    else:
        pairs = []
    out: dict[Any, Any] = {}
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise yaml.constructor.ConstructorError(None, None, f"OrderedDict item must be [key, value], got {pair!r}",
                                                    node.start_mark)
        out[pair[0]] = pair[1]
    return out


ZooSafeLoader.add_constructor(_ORDERED_DICT, _ordered_dict)


def load_yaml(path: Path) -> Any:
    """One YAML document through :class:`ZooSafeLoader`."""
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=ZooSafeLoader)  # a SafeLoader subclass: no python objects


def read_config_files(folder: Path, problems: list[str], names: Iterable[str] = CONFIG_FILES) -> dict[str, Any]:
    """The merged config of the conventional files in ``folder`` (unreadable ones become problems)."""
    config: dict[str, Any] = {}
    for name in names:
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else load_yaml(path)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.append(f"{name} could not be read and was left out of the config: {type(exc).__name__}: {exc}")
            continue
        if isinstance(data, Mapping):
            merge_missing(config, {str(k): v for k, v in data.items()})
        elif data is not None:
            problems.append(f"{name} holds a {type(data).__name__}, not a mapping; left out of the config")
    return config


def merge_missing(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Add the keys of ``more`` that ``into`` lacks, recursing into nested dicts."""
    for key, value in more.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, Mapping):
            merge_missing(into[key], value)


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}``; a key that is both a leaf and a prefix stays flat."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                node = out
                parts = [key]
                break
            node = child
        node[parts[-1]] = value
    return out


def apply_sidecar(record: RunRecord, folder: Path) -> None:
    """Copy name, tags, group, notes and state from ``folder/runlab.json`` when there is one."""
    path = folder / SIDECAR
    if not path.is_file():
        return
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        record.problems.append(f"{SIDECAR} could not be read: {type(exc).__name__}: {exc}")
        return
    if not isinstance(meta, dict):
        record.problems.append(f"{SIDECAR} is not a JSON object; ignored")
        return
    for key in ("name", "group", "notes", "state", "job_type"):
        if isinstance(meta.get(key), str):
            setattr(record, key, meta[key])
    if isinstance(meta.get("tags"), list):
        record.tags = [str(t) for t in meta["tags"]]


def history_table(series: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> pa.Table:
    """Long-form history from ``metric -> (steps, values)``, ordered by step (stable within a step)."""
    if not series:
        return HISTORY_SCHEMA.empty_table()
    names = list(series)
    steps = np.concatenate([np.asarray(series[m][0], np.int64) for m in names])
    values = np.concatenate([np.asarray(series[m][1], np.float64) for m in names])
    codes = np.concatenate([np.full(len(series[m][0]), i, np.int32) for i, m in enumerate(names)])
    order = np.argsort(steps, kind="stable")
    metric = pa.DictionaryArray.from_arrays(pa.array(codes[order]), pa.array(names, pa.string()))
    return pa.Table.from_arrays(
        [pa.array(steps[order], pa.int64()), metric.cast(pa.string()), pa.array(values[order], pa.float64())],
        schema=HISTORY_SCHEMA,
    )


def summary_of(series: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """The last logged value of each metric (NaN/inf as strings JSON can hold)."""
    out: dict[str, Any] = {}
    for metric, (_, values) in series.items():
        if len(values):
            v = float(values[-1])
            out[metric] = v if np.isfinite(v) else str(v)
    return out
