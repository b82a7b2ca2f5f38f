"""Configs to canonical JSON, and the stable hash that names each distinct configuration.

A trainer hands the tracker whatever its envs are configured with: plain dicts, OmegaConf
``DictConfig`` objects, dataclasses, with numpy scalars mixed in. They all become the same plain
JSON value, serialised with sorted keys, so equal configurations get equal hashes however they
were built. The serialisation (``json.dumps(..., sort_keys=True)`` with default separators) is the
one the sample project's first history format used, so hashes stay comparable across formats.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from runlab.errors import InputError

_PLAIN = (str, int, float, bool, type(None))


def _default(obj: Any) -> Any:
    """``json.dumps`` hook for the non-plain values a config may carry (numpy, dataclass, DictConfig)."""
    item = getattr(obj, "item", None)
    if callable(item) and getattr(obj, "shape", None) == ():
        return item()  # numpy scalar or 0-d array
    tolist = getattr(obj, "tolist", None)
    if callable(tolist) and hasattr(obj, "shape"):
        return tolist()  # numpy array
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if _is_omegaconf(obj):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(obj, resolve=True)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(type(obj).__name__)


def _is_omegaconf(obj: Any) -> bool:
    return type(obj).__module__.startswith("omegaconf")


def canonical_json(config: Any) -> str:
    """The canonical JSON text of ``config``; raises :class:`InputError` naming the key that cannot be stored.

    The fast path is one ``json.dumps`` with a conversion hook; only when it fails does a second
    walk find the offending key, so a valid config costs one serialisation.
    """
    try:
        return json.dumps(config, sort_keys=True, default=_default)
    except (TypeError, ValueError) as exc:
        _find_bad_key(config, "", exc)
        raise InputError(f"env config cannot be stored as JSON: {exc}") from exc


def _find_bad_key(node: Any, path: str, exc: Exception) -> None:
    """Walk ``node`` and raise an :class:`InputError` naming the first key whose value is not JSON-able."""
    where = path or "<root>"
    if isinstance(node, _PLAIN):
        return
    if isinstance(node, set | frozenset):
        raise InputError(f"env config key {where!r} holds a {type(node).__name__}, which JSON cannot store",
                         hint="use a sorted list instead")
    if isinstance(node, list | tuple):
        for i, v in enumerate(node):
            _find_bad_key(v, f"{path}.{i}" if path else str(i), exc)
        return
    try:
        converted = _default(node)
    except TypeError:
        raise InputError(f"env config key {where!r} holds a {type(node).__name__} object, which JSON cannot store",
                         hint="log plain values (numbers, strings, lists, dicts) or a dataclass of them") from exc
    if isinstance(converted, Mapping):
        keys = list(converted)
        if len({type(k) for k in keys}) > 1 or not all(isinstance(k, str | int | float | bool) for k in keys):
            raise InputError(f"env config key {where!r} has keys of mixed or unsupported types: "
                             f"{sorted(map(repr, keys))[:5]}", hint="use string keys")
        for k, v in converted.items():
            _find_bad_key(v, f"{path}.{k}" if path else str(k), exc)
    elif converted is not node:
        _find_bad_key(converted, path, exc)


def config_hash(canonical: str) -> str:
    """16 hex digits of the SHA-256 of a config's canonical JSON text."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def hash_config(config: Any) -> tuple[str, str]:
    """``(hash, canonical JSON)`` of a config."""
    text = canonical_json(config)
    return config_hash(text), text


def finite_or_none(value: Any) -> float | None:
    """A probability as a float, or ``None`` when it is missing or not a finite number."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
