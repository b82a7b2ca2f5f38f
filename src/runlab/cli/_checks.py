"""Checks that turn a typo into an error before a command does nothing quietly.

A misspelt metric or config path otherwise yields an empty export or a label column that no run
gets, with exit code 0; these checks name what was not found and suggest what is there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runlab.errors import NotFoundError

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse


def _did_you_mean(text: str, candidates: Sequence[str], fallback: str) -> str:
    from runlab.errors import closest

    near = closest(text, candidates)
    return f"did you mean: {', '.join(repr(s) for s in near)}" if near else fallback


def require_metrics(wh: Warehouse, patterns: Sequence[str], run_ids: Sequence[str] | None) -> None:
    """Every metric name or glob in ``patterns`` must match a metric logged by the selected runs."""
    from runlab.warehouse.helpers import is_glob, match_metrics

    names = wh.metric_names(run_ids)["metric"].unique().tolist()
    known = set(names)
    for pattern in patterns:
        found = pattern in known if not is_glob(pattern) else bool(match_metrics([pattern], names))
        if not found:
            raise NotFoundError(
                f"no selected run logged a metric {pattern!r}",
                hint=_did_you_mean(pattern, names, "see a run's metrics with `runlab runs show RUN`"),
            )


def require_config_path(wh: Warehouse, path: str, run_ids: Sequence[str] | None = None) -> None:
    """Some selected run must have a value at the dotted config ``path``."""
    from runlab.configpath import config_value, flatten

    configs = wh.runs(run_ids)["config"].tolist()
    missing = object()
    if any(config_value(c, path, missing) is not missing for c in configs):
        return
    paths = sorted({p for c in configs for p in flatten(c)})
    raise NotFoundError(
        f"no run has a config value at {path!r}",
        hint=_did_you_mean(path, paths, "see a run's config with `runlab runs show RUN`"),
    )


def require_x_axis(wh: Warehouse, x_axis: str, run_ids: Sequence[str] | None) -> None:
    """The x axis is ``_step`` or a metric logged by the selected runs."""
    if x_axis == "_step":
        return
    names = wh.metric_names(run_ids)["metric"].unique().tolist()
    if x_axis not in names:
        axes = ["_step", *sorted(n for n in names if n.startswith("metric/"))]
        raise NotFoundError(
            f"x axis {x_axis!r} is not a metric of the selected runs",
            hint=_did_you_mean(x_axis, [*axes, *names], f"use one of: {', '.join(axes)}"),
        )
