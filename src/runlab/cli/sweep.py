"""`runlab sweep`: create, run, inspect, plot and harvest hyperparameter sweeps.

Thin over :mod:`runlab.sweep`: every command opens the sweep's store (SQLite under
``<home>/sweeps/<name>/`` unless ``--store URL``), calls the library and prints. Only ``init``
and ``run`` may create a store; the reading commands open existing sweeps only
(:func:`runlab.sweep.open_existing_store`), so a mistyped name creates nothing. ``run
--prune-with`` is where a ``runlab.curves`` model becomes the sweep's pruner: the sweep package
sits below curves and only knows the :class:`runlab.sweep.Pruner` protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from runlab.cli._common import cli_errors, console, err_console, home
from runlab.configpath import leaf_paths

_STORE_HELP = "SQLAlchemy URL of a shared sweep store (default: SQLite in <home>/sweeps/NAME/)."
Store = Annotated[str | None, typer.Option("--store", envvar="RUNLAB_SWEEP_STORE", help=_STORE_HELP)]
Name = Annotated[str, typer.Argument(help="Sweep name (letters, digits, '_', '.', '-').")]

sweep_app = typer.Typer(help="Hyperparameter sweeps with Protein: init, run, list, status, plot, best, import, "
                        "export-optuna.",
                        no_args_is_help=True)


@sweep_app.command("init")
def init_cmd(
    name: Name,
    config: Annotated[Path, typer.Option("--config", "-c", help="Sweep config YAML (parameters, metric, goal).")],
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides of the config.")] = None,
    store: Store = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="No error if it exists with this config.")] = False,
) -> None:
    """Create a sweep from a config file (validated now, so bad configs fail before any training)."""
    from runlab.sweep import init_sweep, sweep_dir

    with cli_errors():
        info = init_sweep(home(), name, config, overrides or [], store_url=store, exist_ok=exist_ok)
        params = leaf_paths(info.config.get("parameters", {}),
                            lambda n: "distribution" in n or "values" in n)
        console.print(f"sweep [bold]{name}[/] ready: {len(params)} parameter(s), "
                      f"{info.config.get('goal')} {info.config.get('metric')!r} ({info.config.get('method')})",
                      highlight=False)
        console.print(f"folder: {sweep_dir(home(), name)}", highlight=False)


@sweep_app.command(
    "run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run_cmd(
    name: Name,
    command: Annotated[list[str] | None, typer.Argument(help="The training command, after '--'.")] = None,
    max_trials: Annotated[int | None, typer.Option("--max-trials", help="Total trials in the sweep.")] = None,
    parallel: Annotated[int, typer.Option("--parallel", "-j", help="Trials at once.")] = 1,
    backend: Annotated[str, typer.Option("--backend", help="local or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Ray cluster address.")] = None,
    retries: Annotated[int, typer.Option("--retries", help="Extra attempts of a failed trial.")] = 0,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds before a trainer is killed.")] = None,
    max_failures: Annotated[int, typer.Option("--max-failures", help="Stop after N failures in a row.")] = 3,
    seed: Annotated[int | None, typer.Option("--seed", help="Optimiser seed.")] = None,
    store: Store = None,
    prune_with: Annotated[Path | None, typer.Option(
        "--prune-with", help="Curve model folder (runlab curves train --out): stop trials predicted to "
        "end below the best so far.")] = None,
    prune_threshold: Annotated[float, typer.Option(
        "--prune-threshold", help="Stop when P(final worse than best) exceeds this.")] = 0.9,
    prune_min_fraction: Annotated[float, typer.Option(
        "--prune-min-fraction", help="Never stop before this share of the curve is seen.")] = 0.2,
    prune_metric: Annotated[str, typer.Option(
        "--prune-metric", help="Curve metric in the trainer's JSON progress lines.")] = "overview/reward",
    prune_step_key: Annotated[str, typer.Option(
        "--prune-step-key", help="Step key in the trainer's JSON progress lines.")] = "agent_step",
) -> None:
    """Run trials: `runlab sweep run NAME --max-trials 20 -- python train.py`.

    Each trial runs the command with Hydra-style overrides appended and RUNLAB_SWEEP_RUN_ID /
    RUNLAB_TRIAL_DIR set; it reports via $RUNLAB_TRIAL_DIR/results.json, a JSON line on stdout
    or its W&B summary. Run the same command again to resume after a crash or Ctrl-C. With
    --prune-with, trainers print progress lines such as {"agent_step": 4096, "overview/reward": 31.5}
    and hopeless trials are stopped early (state 'pruned').
    """
    from runlab.sweep import RunnerOptions, run_sweep

    with cli_errors():
        pruner = None if prune_with is None else _curve_pruner(prune_with, prune_threshold, prune_min_fraction)
        options = RunnerOptions(max_trials=max_trials, parallel=parallel, backend=backend,
                                ray_address=ray_address, retries=retries, trial_timeout_s=timeout,
                                max_consecutive_failures=max_failures, seed=seed, pruner=pruner,
                                prune_metric=prune_metric, prune_step_key=prune_step_key)
        report = run_sweep(home(), name, command or [], options=options, store_url=store, on_event=_print_event)
        console.print(f"sweep [bold]{name}[/]: {len(report.successes)} succeeded, {len(report.failures)} "
                      f"failed, {len(report.pruned)} pruned, {len(report.resumed)} resumed "
                      f"({report.stopped_reason})", highlight=False)


def _curve_pruner(model_dir: Path, threshold: float, min_fraction: float) -> Any:
    """The curve model as the sweep's pruner (built here: the sweep package sits below curves)."""
    from runlab.curves import CurvePruner

    return CurvePruner.from_dir(model_dir, threshold=threshold, min_fraction=min_fraction)


def _print_event(event: str, trial: Any, message: str) -> None:
    style = {"success": "green", "failure": "red", "retry": "yellow", "pruned": "magenta",
             "stopped": "bold red"}.get(event, "cyan")
    run_id = trial.run_id if trial is not None else ""
    target = err_console if event in ("failure", "retry", "stopped") else console
    target.print(f"[{style}]{event:>8}[/] {run_id} {message}", highlight=False, markup=True, soft_wrap=True)


@sweep_app.command("status")
def status_cmd(
    name: Name,
    store: Store = None,
    limit: Annotated[int, typer.Option("--limit", help="Show the last N trials.")] = 30,
) -> None:
    """Progress and trials of a sweep (state, score, cost, parameters); pruned trials show their
    predicted final score as ~score."""
    from runlab.sweep import TRIAL_STATES, open_existing_store, rank_trials

    with cli_errors(), open_existing_store(home(), name, store) as st:
        info = st.get_sweep(name)
        trials = st.trials(name)
        goal = info.config.get("goal", "maximize")
        counts = {s: sum(t.state == s for t in trials) for s in TRIAL_STATES}
        ranked = rank_trials(trials, goal)
        console.print(f"sweep [bold]{name}[/] — {goal} {info.config.get('metric')!r}, "
                      f"{len(trials)} trial(s): " + ", ".join(f"{v} {k}" for k, v in counts.items() if v),
                      highlight=False)
        if ranked:
            console.print(f"best: {ranked[0].trial.run_id} score {ranked[0].score:.6g}", highlight=False)
        console.print(_trials_table(trials[-limit:], {r.trial.run_id: r.rank for r in ranked}))


def _trials_table(trials: list[Any], ranks: dict[str, int]) -> Table:
    from runlab.sweep import override_args

    table = Table(show_lines=False)
    for col in ("run id", "state", "score", "cost", "rank", "parameters / error"):
        table.add_column(col, overflow="fold")
    colours = {"success": "green", "failure": "red", "running": "cyan", "stale": "yellow", "pruned": "magenta"}
    for t in trials:
        detail = t.error if t.state == "failure" and t.error else " ".join(override_args(t.suggestion))
        table.add_row(
            t.run_id, f"[{colours.get(t.state, 'white')}]{t.state}[/]", _score_cell(t),
            "" if t.cost is None else f"{t.cost:.4g}",
            str(ranks.get(t.run_id, "")), _escape(detail),
        )
    return table


def _score_cell(trial: Any) -> str:
    """The score; for a pruned trial ``~`` and the final score it was predicted to reach."""
    if trial.score is not None:
        return f"{trial.score:.6g}"
    predicted = trial.results.get("_predicted_final") if trial.state == "pruned" else None
    return f"~{predicted:.6g}" if isinstance(predicted, int | float) else ""


@sweep_app.command("list")
def list_cmd(
    store: Store = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every sweep: trials by state, best score, when it was created."""
    import dataclasses
    import datetime as dt
    import json

    from runlab.sweep import list_sweeps

    with cli_errors():
        sweeps = list_sweeps(home(), store)
        if as_json:
            typer.echo(json.dumps([{**dataclasses.asdict(s), "created": _iso(s.created_at)} for s in sweeps],
                                  indent=2))
            return
        if not sweeps:
            console.print("no sweeps yet: create one with 'runlab sweep init NAME --config sweep.yaml'",
                          highlight=False, markup=False)
            return
        table = Table()
        for col in ("sweep", "goal", "trials", "best", "created"):
            table.add_column(col, overflow="fold")
        for s in sweeps:
            states = ", ".join(f"{v} {k}" for k, v in s.trials.items() if v) or "none"
            table.add_row(_escape(s.name), _escape(f"{s.goal} {s.metric}"), states,
                          "" if s.best is None else f"{s.best:.6g}",
                          dt.datetime.fromtimestamp(s.created_at).strftime("%Y-%m-%d %H:%M"))
        console.print(table)


def _iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat(timespec="seconds")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@sweep_app.command("plot")
def plot_cmd(
    name: Name,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files.")],
    store: Store = None,
) -> None:
    """Objective vs trial, cost-score Pareto front, parameter importance (PNG files)."""
    from runlab.sweep import open_existing_store, save_sweep_plots

    with cli_errors(), open_existing_store(home(), name, store) as st:
        info = st.get_sweep(name)
        paths = save_sweep_plots(st.trials(name), info.config, out, name=name)
        for path in paths:
            console.print(f"wrote {path}", highlight=False)


@sweep_app.command("best")
def best_cmd(
    name: Name,
    top_n: Annotated[int, typer.Option("--top-n", help="How many top trials to show.")] = 1,
    show_scores: Annotated[bool, typer.Option("--show-scores", help="List the score of every trial.")] = False,
    no_patch: Annotated[bool, typer.Option("--no-patch", help="Do not write a Hydra patch file.")] = False,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Folder for patch files.")] = Path(
        "configs/trainer/patch"),
    store: Store = None,
) -> None:
    """Best parameters as YAML, a Hydra patch (+trainer/patch=NAME), overrides and a training command."""
    from runlab.sweep import best_trials, open_existing_store, rank_trials

    with cli_errors(), open_existing_store(home(), name, store) as st:
        info = st.get_sweep(name)
        trials = st.trials(name)
        goal = info.config.get("goal", "maximize")
        top = best_trials(trials, goal, top_n=top_n, sweep=name)
        if show_scores:
            _print_scores(rank_trials(trials, goal), goal)
        for ranked in top:
            _print_best(ranked, name, info.command, None if no_patch else output_dir)


def _print_scores(ranked: list[Any], goal: str) -> None:
    table = Table(title=f"successful trials ({goal})")
    for col in ("rank", "run id", "score", "cost"):
        table.add_column(col)
    for r in ranked:
        table.add_row(str(r.rank), r.trial.run_id, f"{r.score:.6g}",
                      "" if r.trial.cost is None else f"{r.trial.cost:.4g}")
    console.print(table)


def _print_best(ranked: Any, sweep: str, command: list[str] | None, patch_dir: Path | None) -> None:
    from runlab.sweep import override_args, params_yaml, patch_name, train_command, write_patch

    rule = "=" * 60
    label = "Best run" if ranked.rank == 1 else f"Rank {ranked.rank}"
    echo = typer.echo  # plain text: the YAML and commands are meant to be copied
    echo(f"{label}: {ranked.trial.run_id} (score: {ranked.score:.6g})\n{rule}")
    echo("1. As YAML config:\n" + "-" * 40)
    echo(params_yaml(ranked.params).rstrip("\n"))
    if patch_dir is not None:
        path = write_patch(ranked, sweep, patch_dir)
        echo(f"\n2. Config patch saved to: {path}\n   Use with: +trainer/patch={patch_name(sweep, ranked.rank)}")
    echo("\n3. As command-line overrides:\n" + "-" * 40)
    echo(" ".join(override_args(ranked.params)))
    echo("\n4. Complete training command:\n" + "-" * 40)
    echo(train_command(command, ranked.params) if command else
         "(no training command recorded: the sweep has not been run with 'runlab sweep run')")
    echo("")


@sweep_app.command("import")
def import_cmd(
    name: Name,
    group: Annotated[str | None, typer.Option("--group", help="W&B run group to import.")] = None,
    wandb_sweep: Annotated[str | None, typer.Option("--wandb-sweep", help="W&B sweep id to import.")] = None,
    store: Store = None,
) -> None:
    """Import earlier W&B runs (already in the warehouse: `runlab ingest`/`fetch`) as observations."""
    from runlab.sweep import import_from_warehouse, open_existing_store

    with cli_errors(), open_existing_store(home(), name, store) as st:
        added = import_from_warehouse(st, name, home(), group=group, sweep_id=wandb_sweep)
        ok = sum(t.state == "success" for t in added)
        console.print(f"imported {len(added)} observation(s) into {name} ({ok} successful, "
                      f"{len(added) - ok} failed)", highlight=False)


@sweep_app.command("export-optuna")
def export_optuna_cmd(
    name: Name,
    storage: Annotated[str, typer.Option("--storage", help="Optuna storage URL, e.g. sqlite:///optuna.db.")],
    study_name: Annotated[str | None, typer.Option("--study-name", help="Optuna study (default: NAME).")] = None,
    store: Store = None,
) -> None:
    """Write the sweep's finished trials into an Optuna study, for optuna-dashboard (needs optuna)."""
    from runlab.sweep import open_existing_store

    with cli_errors(), open_existing_store(home(), name, store) as st:
        export_to_optuna = _optuna_export()
        report = export_to_optuna(st, name, storage, study_name=study_name)
        console.print(f"exported {len(report.added)} trial(s) of {name} to Optuna study {report.study_name!r} "
                      f"({len(report.present)} already there, {len(report.unfinished)} unfinished: exported "
                      "once they finish)", highlight=False)
        for run_id, why in report.rejected.items():
            err_console.print(f"[yellow]skipped[/] {run_id}: {_escape(why)}", highlight=False)
        console.print(f"view: optuna-dashboard {storage}", highlight=False, markup=False)


def _optuna_export() -> Any:
    from runlab.errors import InputError

    try:
        from runlab.sweep.optuna import export_to_optuna
    except ImportError as exc:
        raise InputError(f"export-optuna needs optuna: {exc}", hint="pip install optuna optuna-dashboard") from exc
    return export_to_optuna


def register(app: typer.Typer) -> None:
    """Add ``runlab sweep ...`` to the runlab app."""
    app.add_typer(sweep_app, name="sweep")
