"""Metric requests: named groups (``@losses``), globs (``env_agent/*``), and typo suggestions.

A request is a list of names, globs and ``@group`` references. It is resolved against each run's
own history keys (W&B's ``historyKeys``), so ``env_agent/*`` picks up the 1,000+ agent metrics a
Metta run logs without listing them. Requests that match nothing in any selected run are reported
with the closest existing names before any history is downloaded.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from runlab.errors import InputError, NotFoundError
from runlab.sources._record import X_AXES

#: Built-in groups for Metta and CleanRL naming conventions.
BUILTIN_GROUPS: dict[str, tuple[str, ...]] = {
    "overview": ("overview/*",),
    "losses": ("losses/*", "trainer/*loss*"),
    "env_agent": ("env_agent/*",),
    "env_task_reward": ("env_task_reward/*",),
    "experience": ("experience/*",),
    "eval": ("eval_*/*",),
    "curriculum": ("curriculum/*",),
    "env": ("env/*",),
    "trainer": ("trainer/*",),
    "monitor": ("monitor/*",),
    "charts": ("charts/*",),
    "cleanrl": ("charts/*", "losses/*", "global_step"),
    "reward": ("overview/reward", "env_agent/reward", "charts/episodic_return", "eval_*/reward"),
    "x_axes": X_AXES,
}

_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def match_key(pattern: str, key: str) -> bool:
    """Exact name, or shell glob when the pattern has ``*``, ``?`` or ``[``."""
    return fnmatchcase(key, pattern) if _is_glob(pattern) else key == pattern


@dataclass(frozen=True)
class MetricRequest:
    """One requested item after group expansion: the text the user wrote and the pattern it means."""

    pattern: str
    origin: str
    """What the user wrote (the pattern itself, or ``@group``)."""


@dataclass(frozen=True)
class MissingMetric:
    """A request that no selected run has, with the closest existing names."""

    requested: str
    suggestions: tuple[str, ...]

    def __str__(self) -> str:
        near = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"{self.requested}{near}"


class MetricGroups:
    """Named metric groups: the built-ins plus the user's own (``add``)."""

    def __init__(self) -> None:
        self._groups: dict[str, tuple[str, ...]] = dict(BUILTIN_GROUPS)

    def add(self, name: str, metrics: Sequence[str]) -> None:
        name = name.removeprefix("@")
        if not _GROUP_NAME.match(name):
            raise InputError(f"metric group name must be letters, digits, '_', '.', '-', got {name!r}")
        if isinstance(metrics, str) or not metrics:
            raise InputError(f"metric group {name!r} must be a non-empty list of metric names or globs")
        self._groups[name] = tuple(metrics)

    def names(self) -> list[str]:
        return sorted(self._groups)

    def expand(self, items: Iterable[str]) -> list[MetricRequest]:
        """Replace ``@group`` references (recursively) by their members; keep order, drop repeats."""
        out: list[MetricRequest] = []
        seen: set[str] = set()

        def visit(item: str, origin: str, stack: tuple[str, ...]) -> None:
            item = item.strip()
            if not item:
                return
            if item.startswith("@"):
                name = item[1:]
                if name not in self._groups:
                    close = difflib.get_close_matches(name, self._groups, n=3)
                    hint = f"did you mean {', '.join('@' + c for c in close)}?" if close else None
                    raise NotFoundError(
                        f"unknown metric group @{name}; known groups: {', '.join('@' + g for g in self.names())}",
                        hint=hint,
                    )
                if name in stack:
                    raise InputError(f"metric group @{name} refers to itself")
                for member in self._groups[name]:
                    visit(member, origin, (*stack, name))
                return
            if item not in seen:
                seen.add(item)
                out.append(MetricRequest(item, origin))

        for item in items:
            visit(item, item.strip(), ())
        return out


def resolve(requests: Sequence[MetricRequest], keys: Iterable[str]) -> set[str]:
    """The history keys of one run that the requests select (x-axes always come along)."""
    keyset = set(keys)
    chosen = {k for k in keyset if k in X_AXES}
    for req in requests:
        if _is_glob(req.pattern):
            chosen.update(k for k in keyset if fnmatchcase(k, req.pattern))
        elif req.pattern in keyset:
            chosen.add(req.pattern)
    return chosen


def missing(requests: Sequence[MetricRequest], keys_per_run: Mapping[str, Iterable[str]]) -> list[MissingMetric]:
    """Requests matching no key of any run, grouped by what the user wrote.

    A ``@group`` is missing only when none of its members matched (a group for two conventions
    naturally misses one of them).
    """
    all_keys = sorted({k for keys in keys_per_run.values() for k in keys})
    hit: dict[str, bool] = {}
    for req in requests:
        found = any(match_key(req.pattern, k) for k in all_keys)
        hit[req.origin] = hit.get(req.origin, False) or found
    out = []
    for origin, found in hit.items():
        if found:
            continue
        probe = origin.lstrip("@").replace("*", "")
        suggestions = tuple(difflib.get_close_matches(probe, all_keys, n=3, cutoff=0.5))
        out.append(MissingMetric(origin, suggestions))
    return out
