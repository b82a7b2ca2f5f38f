"""Where the shipped sample project lives."""

from __future__ import annotations

from pathlib import Path

from runlab.errors import NotFoundError


def shipped_samples_dir() -> Path:
    """The repository's ``samples/`` directory (generated runs, Parquet and ``MANIFEST.json``).

    The sample data ships with the source checkout, not inside the wheel; an installed copy
    without the checkout has no shipped samples.
    """
    path = Path(__file__).resolve().parents[3] / "samples"
    if not (path / "MANIFEST.json").is_file():
        raise NotFoundError(
            f"no shipped sample project at {path}",
            hint="run from a source checkout of runlab, or generate one with `runlab samples generate --out DIR`",
        )
    return path
