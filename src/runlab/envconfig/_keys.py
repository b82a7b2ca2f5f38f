"""Key parameters: the few config values worth a metric and a column, chosen by dotted path and glob.

A pattern is matched against the *end* of each leaf path, so ``max_steps`` finds
``game.max_steps`` and ``env.game.max_steps`` alike: trainers hand over env configs rooted at
different levels. A name with ``*`` takes the part of the path the glob matched, so
``{"reward_*": "rewards.*"}`` turns ``game.agent.rewards.heart`` into ``reward_heart``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from runlab.configpath import flatten
from runlab.errors import InputError

#: Metta-style defaults: metric ``env/<name>`` for each.
DEFAULT_KEY_PARAMS: dict[str, str] = {
    "max_steps": "max_steps",
    "num_agents": "num_agents",
    "freeze_duration": "freeze_duration",
    "default_resource_limit": "default_resource_limit",
    "reward_*": "rewards.*",
}


@lru_cache(maxsize=256)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex for ``pattern`` anchored at a path-component boundary and the end; ``*`` is captured."""
    parts = re.split(r"(\*|\?)", pattern)
    body = "".join("(.+)" if p == "*" else "." if p == "?" else re.escape(p) for p in parts)
    return re.compile(rf"(?:^|.*\.){body}$")


class KeyParams:
    """Extracts named numeric parameters from configs; ``{name: pattern}``, see the module docstring."""

    def __init__(self, params: Mapping[str, str] | None = None) -> None:
        params = dict(DEFAULT_KEY_PARAMS if params is None else params)
        for name, pattern in params.items():
            if not isinstance(name, str) or not name or not isinstance(pattern, str) or not pattern:
                raise InputError(f"key_params must map names to dotted-path patterns, got {name!r}: {pattern!r}",
                                 hint='e.g. {"max_steps": "game.max_steps", "reward_*": "rewards.*"}')
            if name.count("*") > 1 or ("*" in name and pattern.count("*") != 1):
                raise InputError(f"key parameter name {name!r} with a '*' needs a pattern with exactly one '*', "
                                 f"got {pattern!r}")
        self.params = params

    def extract(self, config: Any) -> dict[str, Any]:
        """``{name: value}`` for every pattern that matches a leaf of ``config`` (first match wins)."""
        leaves = flatten(config) if isinstance(config, Mapping) else {}
        out: dict[str, Any] = {}
        for name, pattern in self.params.items():
            rx = _pattern_regex(pattern)
            for path, value in leaves.items():
                m = rx.match(path)
                if m is None:
                    continue
                key = name.replace("*", m.group(1).replace(".", "_")) if "*" in name else name
                out.setdefault(key, value)
                if "*" not in name:
                    break
        return out

    def numeric(self, config: Any) -> dict[str, float]:
        """The key parameters of ``config`` that are numbers (booleans count as 0/1), as floats."""
        out = {}
        for k, v in self.extract(config).items():
            if isinstance(v, bool | int | float) and not isinstance(v, str):
                out[k] = float(v)
        return out


def match_glob(pattern: str, text: str) -> bool:
    """Case-sensitive glob match (``*``, ``?``, ``[...]``)."""
    return fnmatch.fnmatchcase(text, pattern)
