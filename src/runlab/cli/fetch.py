"""`runlab fetch`: collect runs from the W&B API into the warehouse.

Multi-value options (``--tag``, ``--metrics``, ``--config-params``, ``--artifact-types``) may be
repeated, and each value may also be a comma-separated list: ``--metrics overview/reward,losses/*`` equals
``--metrics overview/reward --metrics 'losses/*'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from runlab.cli._common import cli_errors, console, err_console, home
from runlab.cli.ingest import store_with_progress

if TYPE_CHECKING:
    from runlab.sources.wandb_api import WandBBatch
    from runlab.warehouse import IngestReport


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


_PatternOpt = Annotated[
    str | None, typer.Option("--pattern", help="Glob on the run name, e.g. 'sky_comprehensive_*'.")
]

_RegexOpt = Annotated[str | None, typer.Option("--regex", help="Regular expression on the run name.")]

_FilterOpt = Annotated[
    str | None,
    typer.Option("--filter", help='Raw MongoDB-style filter as JSON, e.g. \'{"config.lr": {"$gt": 0.001}}\'.'),
]

_TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Runs must have this tag (repeatable).")]

_GroupOpt = Annotated[str | None, typer.Option("--group", help="Only runs in this W&B group.")]

_StateOpt = Annotated[
    str | None, typer.Option("--state", help="Only runs in this state (finished, running, crashed, ...).")
]

_SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Only runs created on/after this date (2025-01-31).")
]

_SweepOpt = Annotated[
    str | None, typer.Option("--sweep", help="Only the runs of this W&B sweep (the id at the end of its URL).")
]

_MetricsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics",
        help="Metrics to fetch: names, globs ('env_agent/*') or @groups (@overview, @losses, @cleanrl); "
        "repeatable or comma-separated. Default: all.",
    ),
]

_ConfigParamsOpt = Annotated[
    list[str] | None,
    typer.Option("--config-params", help="Config params by dotted path to check/report (repeatable)."),
]

_WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Runs downloaded in parallel.")]

_RefreshOpt = Annotated[
    bool, typer.Option("--refresh", help="Download every run again, even when unchanged.")
]

_MaxRetriesOpt = Annotated[
    int, typer.Option("--max-retries", min=0, help="Retries per request on 429/5xx/timeouts.")
]

_ArtifactTypesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--artifact-types",
        help="Download the files of output artifacts of these types whatever their size, "
        "e.g. environment_configs ('*': all types). Repeatable or comma-separated.",
    ),
]

_ArtifactMaxMbOpt = Annotated[
    float,
    typer.Option("--artifact-max-mb", min=0.0, help="Download artifacts up to this size (MB) of any type."),
]

_NoArtifactsOpt = Annotated[
    bool, typer.Option("--no-artifacts", help="Do not list or download output artifacts.")
]

_NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")]


def fetch(
    path: Annotated[str, typer.Argument(metavar="ENTITY/PROJECT", help="W&B entity and project.")],
    pattern: _PatternOpt = None,
    regex: _RegexOpt = None,
    filter_: _FilterOpt = None,
    tag: _TagOpt = None,
    group: _GroupOpt = None,
    state: _StateOpt = None,
    since: _SinceOpt = None,
    sweep: _SweepOpt = None,
    metrics: _MetricsOpt = None,
    config_params: _ConfigParamsOpt = None,
    workers: _WorkersOpt = 4,
    refresh: _RefreshOpt = False,
    max_retries: _MaxRetriesOpt = 5,
    artifact_types: _ArtifactTypesOpt = None,
    artifact_max_mb: _ArtifactMaxMbOpt = 1.0,
    no_artifacts: _NoArtifactsOpt = False,
    no_progress: _NoProgressOpt = False,
) -> None:
    """Fetch runs (metadata, config, summary and full history) from the W&B API.

    Needs WANDB_API_KEY (or `wandb login`); WANDB_BASE_URL selects a self-hosted server.
    Unchanged runs are skipped; running runs only download their new steps. Output artifacts
    are recorded for every fetched run; small ones (and --artifact-types) are downloaded.
    A run that fails is listed at the end (exit code 2) while every other run is stored.
    """
    with cli_errors():
        from runlab.errors import InputError
        from runlab.sources.wandb_api import FetchOptions, RunSelection, WandBCollector
        from runlab.warehouse import Warehouse

        entity, sep, project = path.partition("/")
        if not sep or not entity or not project or "/" in project:
            raise InputError(f"ENTITY/PROJECT must look like 'my-team/my-project', got {path!r}")
        selection = RunSelection(
            entity=entity, project=project, pattern=pattern, regex=regex, filters=filter_, tags=_split(tag),
            group=group, state=state, since=since, sweep=sweep, metrics=_split(metrics),
            config_params=_split(config_params),
        )
        options = FetchOptions(
            workers=workers, refresh=refresh, max_retries=max_retries, artifacts=not no_artifacts,
            artifact_types=_split(artifact_types), artifact_max_bytes=int(artifact_max_mb * 1_000_000),
        )
        collector = WandBCollector(selection, options)
        collector.api()  # a missing or rejected API key fails here, before a warehouse is created
        with Warehouse.open(home()) as wh:
            batch = collector.records(known=wh.sync_state)
            _print_checks(batch)
            report = store_with_progress(wh, batch, label="fetching", enabled=not no_progress, transient=False)
        _print_report(path, report)
        if report.failures:
            raise typer.Exit(2)


def _print_checks(batch: WandBBatch) -> None:
    """What the checks before download found: the sweep, and requested names no run has."""
    if batch.sweep is not None:
        info = batch.sweep
        metric = f", metric {info.metric!r}" if info.metric else ""
        console.print(f"sweep {info.id} ({info.name}, {info.state.lower()}{metric})", highlight=False, markup=False)
    for m in batch.missing_metrics:
        err_console.print(Text("warning: ", style="yellow") + Text(f"metric {m} is in none of the selected runs"))
    for m in batch.missing_params:
        err_console.print(Text("warning: ", style="yellow") + Text(f"config param {m} is in none of the selected runs"))


def _print_report(path: str, report: IngestReport) -> None:
    extra = f"{report.history_rows} history rows"
    if report.artifacts:
        extra += f", {report.artifacts} artifacts ({report.artifact_files} files)"
    console.print(f"{path}: {report.summary()} ({extra} downloaded)", highlight=False, markup=False)
    if report.artifact_failures:
        err_console.print(f"[yellow]{len(report.artifact_failures)} artifact(s) not downloaded[/] "
                          "(their runs are stored; the same command again retries only them):")
        for run_id, name, error in report.artifact_failures:
            err_console.print(f"  {run_id} {name}: {error}", highlight=False, markup=False)
    if report.failures:
        err_console.print(f"[bold red]{len(report.failures)} run(s) failed[/] (the others are stored):")
        for failure in report.failures:
            err_console.print(f"  {failure}", highlight=False, markup=False)
        err_console.print("run the same command again to retry them")


def register(app: typer.Typer) -> None:
    """Add ``runlab fetch`` to the app."""
    app.command("fetch")(fetch)
