"""Best parameters of a sweep, in the forms people paste: YAML, a Hydra patch, overrides, a command.

The ranking respects the sweep's ``goal`` (the lowest loss wins a ``minimize`` sweep) and only
ever ranks successful trials with a finite score; negative scores are ordinary scores. Numbers
are written in the fewest digits that read back (YAML, Hydra) as the same value — floats below
0.01 in scientific notation (``7.31e-04``) — so a pasted override reproduces the trial exactly.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runlab.configpath import flatten
from runlab.errors import InputError, NotFoundError
from runlab.sweep._files import atomic_write_text
from runlab.sweep._overrides import format_float, format_override_value
from runlab.sweep._store import Trial

PATCH_HEADER = "# @package _global_"


@dataclass(frozen=True, kw_only=True)
class RankedTrial:
    """A successful trial and its place in the ranking (1 = best)."""

    rank: int
    trial: Trial

    @property
    def params(self) -> dict[str, Any]:
        """The nested parameters of the trial."""
        return self.trial.suggestion

    @property
    def score(self) -> float:
        return float(self.trial.score)  # type: ignore[arg-type]


def rank_trials(trials: Iterable[Trial], goal: str) -> list[RankedTrial]:
    """Successful trials with a finite score, best first under ``goal``; ties keep trial order."""
    if goal not in ("maximize", "minimize"):
        raise InputError(f"goal must be 'maximize' or 'minimize', got {goal!r}")
    ok = [t for t in trials if t.state == "success" and t.score is not None and math.isfinite(t.score)]
    sign = -1.0 if goal == "maximize" else 1.0
    ordered = sorted(ok, key=lambda t: (sign * float(t.score), t.index))  # type: ignore[arg-type]
    return [RankedTrial(rank=i + 1, trial=t) for i, t in enumerate(ordered)]


def best_trials(trials: Iterable[Trial], goal: str, *, top_n: int = 1, sweep: str = "") -> list[RankedTrial]:
    """The ``top_n`` best trials; :class:`NotFoundError` when no trial has succeeded yet."""
    if top_n < 1:
        raise InputError(f"--top-n must be >= 1, got {top_n}")
    ranked = rank_trials(trials, goal)
    if not ranked:
        raise NotFoundError(
            f"sweep {sweep!r} has no successful trial yet",
            hint="run trials with 'runlab sweep run', or check failures with 'runlab sweep status'",
        )
    return ranked[:top_n]


def format_number(value: Any) -> str:
    """A YAML/Hydra scalar for a parameter value that reads back as the same value: ``7.31e-04``,
    ``0.95``, ``64``, ``true``."""
    if isinstance(value, bool) or value is None or not isinstance(value, int | float):
        return _scalar(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return format_float(float(value))


def _scalar(value: Any) -> str:
    """One-line YAML scalar that reads back as ``value``; otherwise double-quoted with escapes."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    text = text.removesuffix("\n...\n").strip()
    if len(text.splitlines()) != 1 or any(c in text for c in "\x85\u2028\u2029") or \
            yaml.safe_load(text) != value:
        text = yaml.safe_dump(value, default_style='"', allow_unicode=False, width=10_000).strip()
    return text


def _key(key: Any) -> str:
    return _scalar(str(key))


def params_yaml(params: Mapping[str, Any], indent: int = 0) -> str:
    """Nested parameters as block YAML with :func:`format_number` leaves (``yaml.safe_load`` reads it)."""
    lines: list[str] = []
    pad = "  " * indent
    for key, value in params.items():
        if isinstance(value, Mapping) and value:
            lines.append(f"{pad}{_key(key)}:")
            lines.append(params_yaml(value, indent + 1).rstrip("\n"))
        else:
            lines.append(f"{pad}{_key(key)}: {format_number(value)}")
    return "\n".join(lines) + "\n"


def override_args(params: Mapping[str, Any]) -> list[str]:
    """Hydra command-line overrides with human-readable numbers (``a.b=7.31e-04``)."""
    out = []
    for key, value in flatten(dict(params)).items():
        text = format_number(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else format_override_value(value)
        out.append(f"{key}={text}")
    return out


def patch_name(sweep: str, rank: int = 1) -> str:
    """``<sweep>_best`` for the best trial, ``<sweep>_top<k>`` for the k-th."""
    return f"{sweep}_best" if rank == 1 else f"{sweep}_top{rank}"


def patch_text(ranked: RankedTrial, sweep: str) -> str:
    """A Hydra config patch: ``# @package _global_`` header, provenance, the apply hint, the YAML."""
    name = patch_name(sweep, ranked.rank)
    score = format_number(ranked.score)
    head = [
        PATCH_HEADER,
        f"# Best hyperparameters from sweep {_comment(sweep)} (rank {ranked.rank}: "
        f"run {_comment(ranked.trial.run_id)}, score {score})",
        f"# Apply with: +trainer/patch={name}",
    ]
    return "\n".join(head) + "\n\n" + params_yaml(ranked.params)


def _comment(text: str) -> str:
    """Single-line text safe inside a YAML comment."""
    return " ".join(str(text).split())


def write_patch(ranked: RankedTrial, sweep: str, out_dir: Path) -> Path:
    """Write ``<out_dir>/<patch name>.yaml`` atomically and return its path."""
    return atomic_write_text(Path(out_dir) / f"{patch_name(sweep, ranked.rank)}.yaml", patch_text(ranked, sweep))


def train_command(command: Sequence[str], params: Mapping[str, Any]) -> str:
    """The training command the sweep ran, with the best overrides, quoted for a POSIX shell."""
    return shlex.join([*command, *override_args(params)])


__all__ = [
    "PATCH_HEADER",
    "RankedTrial",
    "best_trials",
    "format_number",
    "override_args",
    "params_yaml",
    "patch_name",
    "patch_text",
    "rank_trials",
    "train_command",
    "write_patch",
]
