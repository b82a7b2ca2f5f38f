"""`runlab fetch`: collect runs from the W&B API into the warehouse.

Multi-value options (``--tag``, ``--metrics``, ``--config-params``, ``--artifact-types``) may be
repeated, and each value may also be a comma-separated list: ``--metrics overview/reward,losses/*`` equals
``--metrics overview/reward --metrics 'losses/*'``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from runlab.cli._common import cli_errors, console, err_console, home


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def fetch(
    path: Annotated[str, typer.Argument(metavar="ENTITY/PROJECT", help="W&B entity and project.")],
    pattern: Annotated[
        str | None, typer.Option("--pattern", help="Glob on the run name, e.g. 'sky_comprehensive_*'.")
    ] = None,
    regex: Annotated[str | None, typer.Option("--regex", help="Regular expression on the run name.")] = None,
    filter_: Annotated[
        str | None,
        typer.Option("--filter", help='Raw MongoDB-style filter as JSON, e.g. \'{"config.lr": {"$gt": 0.001}}\'.'),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Runs must have this tag (repeatable).")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Only runs in this W&B group.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only runs in this state (finished, running, crashed, ...).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only runs created on/after this date (2025-01-31).")
    ] = None,
    sweep: Annotated[
        str | None, typer.Option("--sweep", help="Only the runs of this W&B sweep (the id at the end of its URL).")
    ] = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metrics",
            help="Metrics to fetch: names, globs ('env_agent/*') or @groups (@overview, @losses, @cleanrl); "
            "repeatable or comma-separated. Default: all.",
        ),
    ] = None,
    config_params: Annotated[
        list[str] | None,
        typer.Option("--config-params", help="Config params by dotted path to check/report (repeatable)."),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Runs downloaded in parallel.")] = 4,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Download every run again, even when unchanged.")
    ] = False,
    max_retries: Annotated[
        int, typer.Option("--max-retries", min=0, help="Retries per request on 429/5xx/timeouts.")
    ] = 5,
    artifact_types: Annotated[
        list[str] | None,
        typer.Option(
            "--artifact-types",
            help="Download the files of output artifacts of these types whatever their size, "
            "e.g. environment_configs ('*': all types). Repeatable or comma-separated.",
        ),
    ] = None,
    artifact_max_mb: Annotated[
        float,
        typer.Option("--artifact-max-mb", min=0.0, help="Download artifacts up to this size (MB) of any type."),
    ] = 1.0,
    no_artifacts: Annotated[
        bool, typer.Option("--no-artifacts", help="Do not list or download output artifacts.")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")] = False,
) -> None:
    """Fetch runs (metadata, config, summary and full history) from the W&B API.

    Needs WANDB_API_KEY (or `wandb login`); WANDB_BASE_URL selects a self-hosted server.
    Unchanged runs are skipped; running runs only download their new steps. Output artifacts
    are recorded for every fetched run; small ones (and --artifact-types) are downloaded.
    """
    with cli_errors():
        from runlab.errors import InputError
        from runlab.sources.wandb_api import WandBCollector
        from runlab.warehouse import Warehouse

        entity, sep, project = path.partition("/")
        if not sep or not entity or not project or "/" in project:
            raise InputError(f"ENTITY/PROJECT must look like 'my-team/my-project', got {path!r}")
        collector = WandBCollector(
            entity,
            project,
            pattern=pattern,
            regex=regex,
            filters=filter_,
            tags=_split(tag),
            group=group,
            state=state,
            since=since,
            sweep=sweep,
            metrics=_split(metrics),
            config_params=_split(config_params),
            workers=workers,
            refresh=refresh,
            max_retries=max_retries,
            artifacts=not no_artifacts,
            artifact_types=_split(artifact_types),
            artifact_max_bytes=int(artifact_max_mb * 1_000_000),
        )
        collector.api()  # a missing or rejected API key fails here, before a warehouse is created
        with Warehouse.open(home()) as wh:
            result = collector.collect(wh, progress=not no_progress)
        if result.sweep is not None:
            info = result.sweep
            metric = f", metric {info.metric!r}" if info.metric else ""
            console.print(f"sweep {info.id} ({info.name}, {info.state.lower()}{metric})", highlight=False,
                          markup=False)
        for m in result.missing_metrics:
            err_console.print(f"[yellow]warning:[/] metric {m} is in none of the selected runs", highlight=False)
        for m in result.missing_params:
            err_console.print(f"[yellow]warning:[/] config param {m} is in none of the selected runs",
                              highlight=False)
        console.print(f"{path}: {result.summary()}", highlight=False, markup=False)
        if result.failed:
            err_console.print(f"[bold red]{len(result.failed)} run(s) failed[/] (the others are stored):")
            for failure in result.failed:
                err_console.print(f"  {failure}", highlight=False, markup=False)
            err_console.print("run the same command again to retry them")
            raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``runlab fetch`` to the app."""
    app.command("fetch")(fetch)
