"""Colours and figure creation shared by every plot.

Figures are built with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so plotting
keeps no global state, works in threads and needs no display: the Agg canvas renders them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

#: Okabe-Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)


def palette(methods: Sequence[str], name: str | None = None) -> dict[str, Any]:
    """method -> colour. ``name``: a seaborn/matplotlib palette name; default colour-blind safe."""
    if name is None or name.lower() in ("colorblind", "okabe-ito", "okabe_ito"):
        colours: list[Any] = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(methods))]
    else:
        import seaborn as sns

        from runlab.errors import InputError

        try:
            colours = list(sns.color_palette(name, n_colors=max(len(methods), 1)))
        except ValueError as exc:
            raise InputError(
                f"palette must be a seaborn or matplotlib palette name, got {name!r}",
                hint="e.g. 'colorblind', 'Set2', 'tab10'",
            ) from exc
    return dict(zip(methods, colours, strict=False))


def new_figure(width: float = 6.4, height: float = 4.0, *, nrows: int = 1, ncols: int = 1) -> tuple[Figure, Any]:
    """A Figure with a grid of axes (a single Axes when nrows == ncols == 1)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def short(text: object, limit: int = 40) -> str:
    """A label safe to draw: one line, bounded length, no mathtext (``$`` escaped)."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("$", r"\$")


def lines_with_bands(
    x: Any,
    points: Mapping[str, Any],
    intervals: Mapping[str, Any] | None,
    colors: dict[str, Any] | None,
    *,
    what: str,
    unit: str,
    **line_kw: Any,
) -> tuple[Figure, Any]:
    """One line per method over ``x`` with its CI band (``intervals[m]``: ``(2, len(x))``).

    Shared by the performance profile and the sample-efficiency plot; ``what``/``unit`` name the
    curve and its x points in the shape error ("profile of 'a' must have 5 points (one per tau)").
    """
    import numpy as np

    from runlab.errors import InputError

    x = np.asarray(x, dtype=float)
    if not points:
        raise InputError("points is empty: nothing to plot")
    methods = list(points)
    colors = colors or palette(methods)
    fig, ax = new_figure(5.6, 3.8)
    for m in methods:
        p = np.asarray(points[m], dtype=float)
        if p.shape != x.shape:
            raise InputError(f"{what} of {m!r} must have {x.size} points (one per {unit}), got {p.shape}")
        ax.plot(x, p, color=colors[m], label=short(m), linewidth=2, **line_kw)
        if intervals is not None and m in intervals:
            lo, hi = np.asarray(intervals[m], dtype=float).reshape(2, -1)
            ax.fill_between(x, lo, hi, color=colors[m], alpha=0.2, linewidth=0)
    return fig, ax
