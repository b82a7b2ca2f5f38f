"""`runlab samples` commands: generate the real sample project, verify a copy against its manifest."""

from __future__ import annotations

import shlex
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from runlab.cli._common import cli_errors, console, err_console


class SampleSet(StrEnum):
    """Which part of the sample project to (re)generate."""

    benchmark = "benchmark"
    curriculum = "curriculum"
    curves = "curves"
    all = "all"


def register(app: typer.Typer) -> None:
    """Add the ``samples`` command group to the runlab app."""
    group = typer.Typer(
        help="The sample project: real RL runs (SB3 benchmark, curriculum, training curves) logged "
        "through W&B offline.",
        no_args_is_help=True,
    )

    @group.command("generate")
    def generate(
        quick: Annotated[bool, typer.Option("--quick", help="A small but complete project (minutes).")] = False,
        out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("samples"),
        workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for training and W&B writes.")] = 1,
        which: Annotated[SampleSet, typer.Option("--set", help="Set to (re)generate.")] = SampleSet.all,
    ) -> None:
        """Train the sample runs for real and write them as W&B offline runs + Parquet, with MANIFEST.json."""
        from runlab.samples import SETS, GenerateConfig, generate_samples

        parts = ["runlab", "samples", "generate", *(["--quick"] if quick else []), "--out", str(out),
                 "--workers", str(workers), *(["--set", which.value] if which is not SampleSet.all else [])]
        command = shlex.join(parts)
        t0 = time.perf_counter()

        def progress(msg: str) -> None:
            err_console.print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", highlight=False, markup=False)

        with cli_errors():
            manifest = generate_samples(
                out,
                config=GenerateConfig.quick() if quick else GenerateConfig.full(),
                sets=SETS if which is SampleSet.all else (which.value,),
                workers=workers,
                command=command,
                progress=progress,
            )
        total = manifest["total_bytes"] / 1e6
        console.print(f"wrote {len(manifest['files'])} files ({total:.1f} MB) under {out} "
                      f"in {manifest['wall_time_s']:.0f} s; manifest: {out / 'MANIFEST.json'}")

    @group.command("verify")
    def verify(
        path: Annotated[Path | None, typer.Argument(help="Sample project (default: the shipped one).")] = None,
    ) -> None:
        """Check a sample project's files, sizes, sha256 and counts against its MANIFEST.json."""
        from runlab.samples import shipped_samples_dir, verify_samples

        with cli_errors():
            root = path if path is not None else shipped_samples_dir()
            problems = verify_samples(root)
        for p in problems:
            err_console.print(f"[red]-[/] {p}", highlight=False)
        if problems:
            raise typer.Exit(1)
        console.print(f"{root}: every file matches MANIFEST.json")

    app.add_typer(group, name="samples")
