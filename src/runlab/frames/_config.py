"""Reading values out of nested run configs by dotted path."""

from __future__ import annotations

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
