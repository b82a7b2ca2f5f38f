"""The report's sample-efficiency section: :func:`runlab.compare.efficiency_curves` with the
configuration's settings, or the reason it was left out as a note."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runlab.compare import CompareResult, Efficiency, efficiency_curves
from runlab.errors import InputError
from runlab.reports._config import CompareConfig

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

__all__ = ["Efficiency", "efficiency"]


def efficiency(wh: Warehouse, config: CompareConfig, res: CompareResult) -> tuple[Efficiency | None, list[str]]:
    """The curves of one comparison, or None with the reason among the returned notes."""
    se, a = config.sample_efficiency, config.analysis
    if not se.enabled:
        return None, []
    try:
        curves = efficiency_curves(
            wh, res, x_axis=se.x_axis, points=se.points, aggregate=se.aggregate, trim=a.iqm_trim_percentage,
            reps=a.bootstrap_samples, ci_method=a.ci_method, confidence=a.confidence_level,
            task_bootstrap=a.task_bootstrap, seed=a.seed,
        )
    except InputError as exc:
        return None, [f"sample-efficiency curves left out: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")]
    return curves, []
