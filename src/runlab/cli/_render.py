"""Rendering run data safely: names, tags and config are data, never rich markup."""

from __future__ import annotations

from typing import Any

from rich.text import Text


def text(value: Any) -> Text:
    """A rich ``Text`` (no markup parsing) for any value; ``None`` is empty."""
    if value is None:
        return Text("")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value))
    return Text(str(value))


def split_values(values: list[str] | None) -> list[str]:
    """Repeated options where each value may also be a comma-separated list."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out
