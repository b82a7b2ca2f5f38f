"""Colours and figure creation shared by every plot.

Figures are built with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so plotting
keeps no global state, works in threads and needs no display: the Agg canvas renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
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
