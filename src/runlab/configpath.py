"""Dotted paths into nested configs: the one reader and flattener every package shares.

Run configs (W&B, Hydra/OmegaConf), sweep parameter trees and env configs are all nested dicts
addressed by dotted paths (``trainer.optimizer.learning_rate``). This module sits below every other
package (it imports nothing of runlab) so sources, frames, analyses, sweeps and the CLI read and
flatten configs the same way.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

_MISSING = object()


def config_value(config: Any, path: str, default: Any = None) -> Any:
    """``config["a"]["b"]`` for ``"a.b"``; also finds flat keys that contain dots (``{"a.b": 1}``)
    and W&B's ``{"value": ...}`` wrappers. Missing paths give ``default``."""
    found = _lookup(config, path.split("."))
    return default if found is _MISSING else found


def _lookup(node: Any, parts: list[str]) -> Any:
    if not parts:
        if isinstance(node, dict) and set(node) == {"value"}:
            return node["value"]
        return node
    if isinstance(node, dict):
        # Longest key first, so a flat "trainer.lr" beats a nested path when both exist.
        for k in range(len(parts), 0, -1):
            key = ".".join(parts[:k])
            if key in node:
                found = _lookup(node[key], parts[k:])
                if found is not _MISSING:
                    return found
        if set(node) == {"value"}:
            return _lookup(node["value"], parts)
    if isinstance(node, list) and parts[0].isdigit() and int(parts[0]) < len(node):
        return _lookup(node[int(parts[0])], parts[1:])
    return _MISSING


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay values."""
    out: dict[str, Any] = {}
    if isinstance(config, dict) and config:
        for k, v in config.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    elif prefix:
        out[prefix] = config
    return out


def key_paths(config: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted path in ``config``, inner nodes included (``a``, ``a.b``): for did-you-mean."""
    for k, v in config.items():
        path = f"{prefix}{k}"
        yield path
        if isinstance(v, Mapping):
            yield from key_paths(v, path + ".")


def leaf_paths(tree: Mapping[str, Any], is_leaf: Any = None, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves of ``tree``; ``is_leaf(node)`` stops the descent at a dict node
    that is itself a leaf (a sweep parameter's ``{"distribution": ...}``)."""
    out: list[str] = []
    for key, node in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(node, Mapping) and node and not (is_leaf is not None and is_leaf(node)):
            out.extend(leaf_paths(node, is_leaf, path))
        else:
            out.append(path)
    return out


def match_paths(config: Mapping[str, Any], patterns: list[str] | tuple[str, ...]) -> list[str]:
    """The leaf paths of ``config`` matching any of ``patterns`` (dotted paths with ``*``/``?``
    globs, as ``env.physics.*``), in the order of the patterns, each path once."""
    leaves = list(flatten(config))
    out: list[str] = []
    for pat in patterns:
        hits = [p for p in leaves if fnmatch.fnmatchcase(p, pat)] if any(c in pat for c in "*?[") else (
            [pat] if pat in leaves or config_value(config, pat, _MISSING) is not _MISSING else [])
        out.extend(h for h in hits if h not in out)
    return out
