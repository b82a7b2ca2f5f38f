"""The one vocabulary of the statistics: every choice list is defined here and nowhere else.

Normalisations, directions, aggregates, reducers, significance tests, corrections: the array
functions, the frame-level comparison (:mod:`runlab.compare`) and the pydantic config models of
the reports all take their choices from these tuples, so a name accepted in one place is accepted
in all of them (``correction="bh"`` works for ``compare`` exactly as for ``pairwise_tests``).
Each ``Literal`` is built from its tuple, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Literal

from runlab.errors import InputError

DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
Direction = Literal["maximize", "minimize"]

NORMALIZATIONS: tuple[str, ...] = ("minmax", "zscore", "optimal")
"""``minmax`` and ``zscore`` (sample std, ddof=1) per task over all runs; ``optimal``:
``(x - random) / (optimal - random)`` against given per-task scores."""
Normalization = Literal["minmax", "zscore", "optimal"]
NORMALIZATION_ALIASES: dict[str, str] = {"reference": "optimal"}

AGGREGATES: tuple[str, ...] = ("median", "iqm", "mean", "optimality_gap")
"""The across-task aggregates a comparison reports (rliable's four)."""
Aggregate = Literal["median", "iqm", "mean", "optimality_gap"]

CURVE_AGGREGATES: tuple[str, ...] = ("iqm", "mean", "median")
CurveAggregate = Literal["iqm", "mean", "median"]

REDUCERS: tuple[str, ...] = ("last", "last_n_mean", "max", "auc")
"""How a run's curve becomes one score."""
Reducer = Literal["last", "last_n_mean", "max", "auc"]

TESTS: tuple[str, ...] = ("welch_t", "mann_whitney", "wilcoxon", "permutation")
Test = Literal["welch_t", "mann_whitney", "wilcoxon", "permutation"]

CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "fdr_bh", "none")
"""Multiple-comparison corrections (statsmodels ``multipletests`` names; ``bh`` = ``fdr_bh``)."""
Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]
CORRECTION_ALIASES: dict[str, str] = {"bh": "fdr_bh"}


def choice(name: str, value: object, choices: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    """``value`` as its canonical name, or an :class:`InputError` listing the choices."""
    if isinstance(value, str) and aliases and value in aliases:
        return aliases[value]
    if value not in choices:
        known = [*choices, *(aliases or {})]
        raise InputError(f"{name} must be one of {', '.join(known)}, got {value!r}")
    return str(value)
