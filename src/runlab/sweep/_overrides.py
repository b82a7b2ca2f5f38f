"""Suggestions as Hydra-style command-line overrides (``trainer.optimizer.learning_rate=0.00073``).

A trial's parameters reach the trainer twice: in ``train_config_overrides.yaml`` and appended to
the training command. The command-line form must read back, through Hydra's override grammar,
as exactly the value that was suggested (same type, full float precision), so strings that YAML
would reinterpret (``true``, ``null``, ``1e3``...) are quoted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from runlab.configpath import flatten
from runlab.errors import InputError

_YAML_WORDS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off", "nan", "inf"})


def format_float(value: float) -> str:
    """The shortest text that reads back (Hydra, YAML, ``float``) as exactly ``value``: scientific
    below 0.01 (``7.3e-04``), plain otherwise (``0.95``, ``3.0``). The mantissa always has a dot,
    since PyYAML reads ``1e-04`` as a string. Suggestions are rounded to their parameter's
    precision when made, so this is short for them (``0.01``, not ``0.010000000000000002``)."""
    if value == 0.0:
        return "0.0" if math.copysign(1.0, value) > 0 else "-0.0"
    text = repr(value)
    if abs(value) >= 0.01 and "e" not in text:
        return text
    for digits in range(1, 18):
        text = f"{value:.{digits}e}"
        if float(text) == value:
            return text
    return f"{value:.17e}"


def format_override_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back unchanged (floats keep full precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"override value must be finite, got {value!r}")
        return format_float(value)
    text = str(value)
    if text and all(c.isalnum() or c in "_-./:" for c in text) and text.lower() not in _YAML_WORDS:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def hydra_overrides(suggestion: Mapping[str, Any]) -> list[str]:
    """``trainer.optimizer.learning_rate=0.000731`` for every leaf of the suggestion."""
    return [f"{k}={format_override_value(v)}" for k, v in flatten(dict(suggestion)).items()]


__all__ = ["format_float", "format_override_value", "hydra_overrides"]
