"""`runlab rewards pull|analyze|replay|sweep`: LP reward streams from the warehouse or a file."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from runlab.cli._common import cli_errors, console, err_console, open_warehouse

if TYPE_CHECKING:
    import pandas as pd

    from runlab.rewards import RewardStreams

rewards_app = typer.Typer(help="LP reward streams: pull, analyse, replay LP curricula, sweep scorer settings.",
                          no_args_is_help=True)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if missing).")]
InputOpt = Annotated[Path | None, typer.Option(
    "--input", "-i", help="A .csv/.parquet stream file or a folder `rewards pull` wrote (instead of --runs).")]
RunsOpt = Annotated[list[str] | None, typer.Option("--runs", help="Warehouse run ids, names or globs (repeatable).")]
MetricOpt = Annotated[str, typer.Option("--metric", help="Reward metric pattern with <task>.")]
SeedPathOpt = Annotated[str, typer.Option("--seed-path", help="Config path of the run's seed.")]
GroupByOpt = Annotated[str | None, typer.Option(
    "--group-by", help="Config path that keeps runs apart (e.g. trainer.curriculum.algorithm).")]
PresetOpt = Annotated[list[str] | None, typer.Option(
    "--preset", "-p", help="LP preset: syllabus or metta (repeat to compare side by side).")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Scorer setting key=value, or preset.key=value for one preset (repeatable).")]
SeedOpt = Annotated[str | None, typer.Option("--seed", help="Which seed's episode stream to replay.")]
GroupOpt = Annotated[str | None, typer.Option("--group", help="Which group's stream to replay (with --group-by).")]


@contextlib.contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr fed by a library ``on_progress(done, total)`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=not err_console.is_terminal)
    with progress:
        task = progress.add_task("", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _streams(input_path: Path | None, runs: list[str] | None, metric: str, seed_path: str,
             group_by: str | None) -> RewardStreams:
    from runlab.errors import InputError
    from runlab.rewards import load_streams

    if input_path is not None and runs:
        raise InputError("pass either --input or --runs, not both")
    if input_path is not None:
        return load_streams(input_path)
    with open_warehouse() as wh:
        return load_streams(wh, runs=runs or None, metric=metric, seed_path=seed_path, group_by=group_by)


def _print_problems(streams: Any) -> None:
    for p in streams.problems[:10]:
        err_console.print(Text("warning: ", style="yellow") + Text(p.message), soft_wrap=True)
    if len(streams.problems) > 10:
        err_console.print(f"... and {len(streams.problems) - 10} more (see problems.csv)")


@rewards_app.command("pull")
def pull_cmd(out: OutOpt, runs: RunsOpt = None, metric: MetricOpt = "env_task_reward/<task>",
             seed_path: SeedPathOpt = "seed", group_by: GroupByOpt = None) -> None:
    """Write DIR/streams/<task>/<seed>.parquet and DIR/metadata.json from warehouse runs."""
    from runlab.rewards import pull_streams

    with cli_errors():
        streams = _streams(None, runs, metric, seed_path, group_by)
        _print_problems(streams)
        with _bar("pull") as advance:
            meta = pull_streams(streams, out, on_progress=advance)
    console.print(Text(f"wrote {len(streams)} stream(s), {len(streams.data)} samples; metadata: {meta}"), soft_wrap=True)


@rewards_app.command("analyze")
def analyze_cmd(
    out: OutOpt, input_path: InputOpt = None, runs: RunsOpt = None, metric: MetricOpt = "env_task_reward/<task>",
    seed_path: SeedPathOpt = "seed", group_by: GroupByOpt = None,
    slope_window: Annotated[int, typer.Option("--slope-window", help="Samples per OLS slope window.")] = 25,
    noise_window: Annotated[int, typer.Option("--noise-window", help="Samples per rolling-std window.")] = 10,
) -> None:
    """Rate of change, noise, seed vs task variance, SPS correlation: report.md/.html, CSV, Parquet, figures."""
    from runlab.rewards import analyze, write_analysis

    with cli_errors():
        streams = _streams(input_path, runs, metric, seed_path, group_by)
        _print_problems(streams)
        result = analyze(streams, slope_window, noise_window, keep_windows=True)
        with _bar("figures") as advance:
            files = write_analysis(streams, result, out, on_progress=advance)
    for line in result.recommendations:
        console.print(Text("- " + line), soft_wrap=True)
    console.print(Text(f"report: {files.html}"), soft_wrap=True)  # a path stays whole, copyable


def _scorers(presets: list[str] | None, settings: list[str] | None) -> list[Any]:
    """One scorer per preset; ``key=value`` goes to every preset that has the key."""
    from runlab.errors import InputError
    from runlab.rewards import COMMON_SETTINGS as COMMON
    from runlab.rewards import PRESETS, LPScorer

    names = presets or ["syllabus"]
    per: dict[str, list[str]] = {p: [] for p in names}
    for item in settings or []:
        key = item.split("=", 1)[0]
        head, _, rest = key.partition(".")
        if head in per and rest:
            per[head].append(item[len(head) + 1:])
            continue
        takers = [p for p in names if p in PRESETS and (key in PRESETS[p] or key in COMMON)]
        if not takers:
            raise InputError(f"--set {item!r}: no chosen preset has a setting {key!r}",
                             hint="settings: " + "; ".join(f"{p}: {sorted({**PRESETS.get(p, {}), **COMMON})}"
                                                           for p in names))
        for p in takers:
            per[p].append(item)
    return [LPScorer.from_overrides(p, per[p]) for p in names]


def _episodes(input_path: Path, seed: str | None, group: str | None) -> pd.DataFrame:
    import pandas as pd

    from runlab.rewards import load_streams

    if input_path.is_file() and input_path.suffix.lower() in (".csv", ".parquet", ".pq"):
        frame = pd.read_csv(input_path, dtype={"task": str}) if input_path.suffix.lower() == ".csv" \
            else pd.read_parquet(input_path)
        if "seed" not in frame.columns and {"task", "reward"} <= set(frame.columns):
            return frame
    return load_streams(input_path).episodes(group=group, seed=seed)


@rewards_app.command("replay")
def replay_cmd(out: OutOpt,
               input_path: Annotated[Path, typer.Option("--input", "-i", help="Episode CSV/Parquet (episode, task, "
                                                        "reward) or a stream file/folder (with --seed).")],
               preset: PresetOpt = None, settings: SetOpt = None, seed: SeedOpt = None, group: GroupOpt = None) -> None:
    """Replay LP scorers offline on a recorded episode stream: replay.parquet, summary.json, figures."""
    from runlab.rewards import replay, write_replay

    with cli_errors():
        episodes = _episodes(input_path, seed, group)
        scorers = _scorers(preset, settings)
        results = []
        with _bar("replay") as advance:
            for i, scorer in enumerate(scorers):
                results.append(replay(episodes, scorer))
                advance(i + 1, len(scorers))
        files = write_replay(results, out)
    for r in results:
        s = r.summary
        console.print(Text(f"{r.scorer!r}: gini {s['gini_mean']:.3f}, entropy {s['entropy_mean']:.3f}, "
                           f"tracking lag {s['tracking_lag']:.1f} updates, prob noise {s['prob_noise']:.4f}"),
                      soft_wrap=True)
    console.print(Text(f"wrote {files.tables['replay']} and {files.figures['replay']}"), soft_wrap=True)


@rewards_app.command("sweep")
def sweep_cmd(out: OutOpt,
              input_path: Annotated[Path, typer.Option("--input", "-i", help="Episode CSV/Parquet or stream "
                                                       "file/folder (with --seed).")],
              preset: Annotated[str, typer.Option("--preset", "-p", help="LP preset to tune.")] = "metta",
              settings: SetOpt = None, seed: SeedOpt = None, group: GroupOpt = None,
              objective: Annotated[str, typer.Option("--objective", help="lag_at_noise, lag, selectivity or "
                                                     "stability.")] = "lag_at_noise",
              noise_budget: Annotated[float, typer.Option("--noise-budget", help="Probability-noise budget of "
                                                          "lag_at_noise.")] = 0.01,
              trials: Annotated[int, typer.Option("--trials", help="Protein trials.")] = 20,
              sweep_seed: Annotated[int, typer.Option("--sweep-seed", help="Seed of the optimiser.")] = 0) -> None:
    """Tune scorer settings with Protein against a replay objective: trials.csv, best.json, best replay."""
    import json

    from runlab.rewards import replay, sweep_scorer, write_replay

    with cli_errors():
        episodes = _episodes(input_path, seed, group)
        fixed = _scorers([preset], settings)[0].overrides()
        with _bar("sweep") as advance:
            result = sweep_scorer(episodes, preset, fixed=fixed, objective=objective, noise_budget=noise_budget,
                                  trials=trials, seed=sweep_seed, on_progress=advance)
        out.mkdir(parents=True, exist_ok=True)
        from runlab.csvsafe import write_csv

        write_csv(result.trials, out / "trials.csv")
        best = None if result.best is None else {"preset": preset, "settings": result.best.overrides(),
                                                 "objective": result.best_score}
        (out / "best.json").write_text(json.dumps(best, indent=2, default=str) + "\n")
        if result.best is not None:
            write_replay([replay(episodes, result.best)], out / "best_replay", titles=["best"])
    if best is None:
        console.print("no trial produced a finite objective (no task rises in this stream?)")
    else:
        console.print(Text(f"best {objective} = {result.best_score:.4g} with {result.best!r}"), soft_wrap=True)
    console.print(Text(f"wrote {out / 'trials.csv'} and {out / 'best.json'}"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``runlab rewards ...`` to the runlab app."""
    app.add_typer(rewards_app, name="rewards")
