"""`runlab curves train|evaluate|predict|demo`: training-curve prediction from configs.

Data comes from ``--data DIR`` (the ``samples/curves/`` layout) or from warehouse runs
(``--runs PATTERN``, with ``--home``). Model settings: an optional YAML file shaped like the
seed's plus ``key=value`` overrides, both as positional arguments.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from runlab.cli._common import cli_errors, console, err_console, open_warehouse
from runlab.cli._render import split_values

if TYPE_CHECKING:
    from runlab.curves import CurveDataset, CurveModelConfig, FeatureSpec

curves_app = typer.Typer(help="Predict training curves from env and agent configs (VAEs + ensemble).",
                         no_args_is_help=True)

ArgsArg = Annotated[list[str] | None, typer.Argument(
    help="Optional model config YAML (seed layout) and key=value overrides, e.g. num_epochs=20.")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Folder with curves.parquet and runs.parquet.")]
RunsOpt = Annotated[list[str] | None, typer.Option(
    "--runs", help="Warehouse runs (ids, names, globs; repeatable) instead of --data.")]
MetricOpt = Annotated[str | None, typer.Option(
    "--metric", help="Curve metric (default: 'reward' column for --data, overview/reward in the warehouse).")]
XAxisOpt = Annotated[str | None, typer.Option(
    "--x-axis", help="x-axis (default: 'agent_step' column for --data, metric/agent_step in the warehouse).")]
EnvFeatOpt = Annotated[list[str] | None, typer.Option(
    "--env-features", help="Environment feature paths, globs allowed (comma-separated or repeated).")]
AgentFeatOpt = Annotated[list[str] | None, typer.Option(
    "--agent-features", help="Agent feature paths, globs allowed (comma-separated or repeated).")]
RelativeOpt = Annotated[bool, typer.Option(
    "--relative", help="Put each run's x on [0, 1] of its own length (pooling different budgets).")]
MaxStepOpt = Annotated[float | None, typer.Option(
    "--max-step", help="End of the grid; shorter runs are reported and left out (default: median end).")]


def _split_args(args: list[str] | None) -> tuple[Path | None, list[str]]:
    from runlab.errors import InputError

    files = [a for a in args or [] if "=" not in a]
    if len(files) > 1:
        raise InputError(f"at most one config file, got {', '.join(files)}", hint="other arguments are key=value")
    return (Path(files[0]) if files else None), [a for a in args or [] if "=" in a]


def _model_config(args: list[str] | None) -> CurveModelConfig:
    from runlab.curves import CurveModelConfig

    path, overrides = _split_args(args)
    return CurveModelConfig.load(path, overrides)


def _features(env: list[str] | None, agent: list[str] | None) -> FeatureSpec:
    from runlab.curves import FeatureSpec

    return FeatureSpec.of(split_values(env) or None, split_values(agent) or None)


def _dataset(data: Path | None, runs: list[str] | None, metric: str | None, x_axis: str | None,
             curve_length: int, relative: bool, max_step: float | None) -> CurveDataset:
    """The curves from files or from the warehouse (exactly one source)."""
    from runlab.curves import CurveDataset
    from runlab.errors import InputError

    options: dict[str, Any] = {"curve_length": curve_length, "relative": relative, "max_step": max_step}
    if data is not None and runs:
        raise InputError("use either --data or --runs, not both")
    if data is not None:
        return CurveDataset.from_files(data, step_column=x_axis or "agent_step", value_column=metric or "reward",
                                       **options)
    if not runs:
        raise InputError("no curves given", hint="pass --data DIR (samples/curves layout) or --runs PATTERN "
                         "(warehouse runs)")
    with open_warehouse() as wh:
        return CurveDataset.from_warehouse(wh, runs, metric=metric or "overview/reward",
                                           x_axis=x_axis or "metric/agent_step", **options)


@contextlib.contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, given to the library as ``on_progress``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=not err_console.is_terminal)
    with progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _print_report(dataset: CurveDataset) -> None:
    console.print(Text(str(dataset.report)))


@curves_app.command("train")
def train_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    args: ArgsArg = None, data: DataOpt = None, runs: RunsOpt = None, metric: MetricOpt = None,
    x_axis: XAxisOpt = None, env_features: EnvFeatOpt = None, agent_features: AgentFeatOpt = None,
    relative: RelativeOpt = False, max_step: MaxStepOpt = None,
) -> None:
    """Train the VAE curve model (deep ensemble) on all given curves and save it."""
    import time

    from runlab.curves import CurvePredictor

    with cli_errors():
        cfg = _model_config(args)
        ds = _dataset(data, runs, metric, x_axis, cfg.curve_length, relative, max_step)
        _print_report(ds)
        t0 = time.perf_counter()
        with _bar("training") as bar:
            model = CurvePredictor(cfg, _features(env_features, agent_features)).fit(ds, on_progress=bar)
        model.save(out)
        console.print(Text(f"trained {cfg.ensemble_size} member(s) on {len(ds)} run(s) in "
                           f"{time.perf_counter() - t0:.1f} s; model written to {out}"))
        if model.encoder_ is not None:
            console.print(Text(f"features: {', '.join(model.encoder_.paths)}"))


@curves_app.command("evaluate")
def evaluate_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for evaluation.json and the reports.")],
    args: ArgsArg = None, data: DataOpt = None, runs: RunsOpt = None, metric: MetricOpt = None,
    x_axis: XAxisOpt = None, env_features: EnvFeatOpt = None, agent_features: AgentFeatOpt = None,
    relative: RelativeOpt = False, max_step: MaxStepOpt = None,
    split: Annotated[str, typer.Option("--split", help="random, or group:<config path> (held out together).")]
    = "random",
    folds: Annotated[int, typer.Option("--folds", help="Number of folds.")] = 5,
    models: Annotated[list[str] | None, typer.Option(
        "--models", help="Models to compare (default: vae-ensemble, mean-curve, nearest-configs, boosted-trees).")]
    = None,
    prefix_fraction: Annotated[float, typer.Option(
        "--prefix-fraction", help="Share of each curve given for the prefix task.")] = 0.3,
    normalize_by: Annotated[str | None, typer.Option(
        "--normalize-by", help="Score in each group's reward scale (config path, e.g. env.id).")] = None,
) -> None:
    """Held-out scores of the VAE model and the baselines (RMSE, final error, Spearman, coverage, CRPS)."""
    from runlab.curves import evaluate, write_report

    with cli_errors():
        cfg = _model_config(args)
        ds = _dataset(data, runs, metric, x_axis, cfg.curve_length, relative, max_step)
        _print_report(ds)
        with _bar("evaluating folds") as bar:
            result = evaluate(ds, split=split, folds=folds, seed=cfg.seed, config=cfg,
                              features=_features(env_features, agent_features),
                              models=split_values(models) or None, prefix_fraction=prefix_fraction,
                              normalize_by=normalize_by, on_progress=bar)
        paths = write_report(result, out)
        from runlab.curves import markdown_table

        console.print(Text(markdown_table(result, "config")))
        console.print(Text(f"prefix task (rest of the curve after the first {prefix_fraction:.0%}):"))
        console.print(Text(markdown_table(result, "prefix")))
        for note in result.notes:
            console.print(Text(f"- {note}"))
        console.print(Text(f"wrote {paths['evaluation']}, {paths['markdown']}, {paths['html']}"))


@curves_app.command("predict")
def predict_cmd(
    model: Annotated[Path, typer.Option("--model", help="Model directory from `runlab curves train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .parquet or .csv (run_id, x, mean, lower, upper).")],
    runs: Annotated[Path | None, typer.Option("--runs", help="runs.parquet with run_id and config (JSON).")] = None,
    set_values: Annotated[list[str] | None, typer.Option(
        "--set", help="key=value of one configuration to predict (repeatable), e.g. --set env.physics.gravity=5.")]
    = None,
    interval: Annotated[float, typer.Option("--interval", help="Central interval level of lower/upper.")] = 0.8,
) -> None:
    """Predict curves for configurations in a runs file or given with --set."""
    from runlab.curves import CurvePredictor, predictions_frame
    from runlab.errors import InputError

    with cli_errors():
        if out.suffix.lower() not in (".parquet", ".csv"):
            raise InputError(f"--out must end in .parquet or .csv, got {out.name!r}")
        if not 0 < interval < 1:
            raise InputError(f"--interval must be in (0, 1), got {interval}")
        predictor = CurvePredictor.load(model)
        ids, configs = _predict_inputs(predictor, runs, set_values)
        pred = predictor.predict(configs)
        x_name = "agent_step" if predictor.x_axis_.endswith("agent_step") else predictor.x_axis_.replace("/", "_")
        frame = predictions_frame(pred, ids, x_name, interval)
        if out.suffix.lower() == ".csv":
            from runlab.csvsafe import write_csv

            write_csv(frame, out)
        else:
            frame.to_parquet(out, index=False)
        for rid, flags in zip(ids, pred.flags, strict=True):
            for flag in flags:
                err_console.print(Text(f"warning: {rid}: {flag}"), soft_wrap=True)
        console.print(Text(f"wrote {len(frame)} row(s) for {len(ids)} configuration(s) to {out}"))


def _predict_inputs(predictor: Any, runs: Path | None, set_values: list[str] | None
                    ) -> tuple[list[str], list[dict[str, Any]]]:
    import pandas as pd
    from omegaconf import OmegaConf

    from runlab.configpath import flatten
    from runlab.curves import parse_config
    from runlab.errors import InputError, NotFoundError

    ids: list[str] = []
    configs: list[dict[str, Any]] = []
    if runs is not None:
        if not runs.is_file():
            raise NotFoundError(f"--runs {runs} does not exist", hint="pass a runs.parquet like samples/curves/")
        frame = pd.read_parquet(runs)
        for col in ("run_id", "config"):
            if col not in frame.columns:
                raise InputError(f"{runs} has no column {col!r}", hint="needs run_id and config (JSON)")
        ids += [str(r) for r in frame["run_id"]]
        configs += [parse_config(c, str(r)) for r, c in zip(frame["run_id"], frame["config"], strict=True)]
    if set_values:
        bad = [s for s in set_values if "=" not in s]
        if bad:
            raise InputError(f"--set {bad[0]!r} is not key=value", hint="e.g. --set env.physics.gravity=5.0")
        values = OmegaConf.to_container(OmegaConf.from_dotlist(list(set_values)))
        predictor.encoder_.check_paths(list(flatten(values)))
        ids.append("config")
        configs.append(values)  # type: ignore[arg-type]
    if not configs:
        raise InputError("nothing to predict", hint="pass --runs RUNS.parquet or --set key=value")
    return ids, configs


@curves_app.command("demo")
def demo_cmd(
    args: Annotated[list[str] | None, typer.Argument(
        help="collect_data=true|false train_model=true|false demo_predictions=true|false, and model "
        "settings as key=value.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's files.")] = Path("curves-demo"),
    samples_dir: Annotated[Path, typer.Option("--samples", help="The sample project folder.")] = Path("samples"),
) -> None:
    """Collect the sample curves, train the model, and predict held-out configurations."""
    from runlab.curves import CurveModelConfig, run_curves_demo
    from runlab.errors import InputError

    with cli_errors():
        steps = {"collect_data": True, "train_model": True, "demo_predictions": True}
        overrides = []
        for a in args or []:
            key, sep, value = a.partition("=")
            if not sep:
                raise InputError(f"demo argument {a!r} is not key=value", hint="e.g. train_model=false")
            if key in steps:
                if value.lower() not in ("true", "false"):
                    raise InputError(f"{key} must be true or false, got {value!r}")
                steps[key] = value.lower() == "true"
            else:
                overrides.append(a)
        cfg = CurveModelConfig.load(None, overrides)
        with _bar("curves demo") as bar:
            summary = run_curves_demo(samples_dir, out, config=cfg, on_progress=bar, **steps)
        for name, scores in summary.get("held_out", {}).items():
            console.print(Text(f"{name}: held-out RMSE {scores['rmse']:.3g}, coverage "
                               f"{scores['coverage'] if scores['coverage'] is None else round(scores['coverage'], 3)}"))
        for key in ("model_dir", "predictions", "latent_plot", "curves_plot"):
            if key in summary:
                console.print(Text(f"{key}: {summary[key]}"))


def register(app: typer.Typer) -> None:
    """Add ``runlab curves``."""
    app.add_typer(curves_app, name="curves")
