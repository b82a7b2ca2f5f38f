"""`runlab env-configs`: which env configurations a run trained on, when, and how they relate to a metric."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from runlab.cli._common import cli_errors, console
from runlab.cli._render import split_values

if TYPE_CHECKING:
    from runlab.envconfig import ConfigHistory, KeyParams
    from runlab.warehouse import Warehouse

RunArg = Annotated[str | None, typer.Argument(
    help="A run (id, short id or name) in the warehouse, an offline run folder, a history JSON file, "
    "or entity/project/run_id on the W&B API.")]
AtEpochOpt = Annotated[int | None, typer.Option("--at-epoch", help="Show the tasks in play at this epoch.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of the text report.")]
CsvOpt = Annotated[Path | None, typer.Option(
    "--export-csv", help="Write one row per (epoch range, task) with the key parameters as columns.")]
OutDirOpt = Annotated[Path | None, typer.Option(
    "--output-dir", help="Write report.txt, summary.json and figures (timeline, probabilities, key parameters).")]
SeqOpt = Annotated[Path | None, typer.Option(
    "--export-sequence", help="Write the configuration sequence as JSON lines, for an exact replay.")]
RunsOpt = Annotated[list[str] | None, typer.Option(
    "--runs", help="List the warehouse runs (ids, names or globs; repeatable) whose history matches --where.")]
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", help="Condition on a config, e.g. 'max_steps>1000' or 'physics.gravity=9.8' (repeatable: all hold).")]
CorrOpt = Annotated[str | None, typer.Option(
    "--correlate", help="A metric of the run: its mean before and after each configuration change, per task.")]
KeyOpt = Annotated[list[str] | None, typer.Option(
    "--key-param", help="NAME=PATTERN key parameter (dotted path, '*' glob; repeatable); replaces the defaults.")]


def _key_params(hist: ConfigHistory, given: list[str] | None) -> KeyParams:
    """``--key-param`` values, else the ones the tracker recorded with the history, else the defaults."""
    from runlab.envconfig import KeyParams
    from runlab.errors import InputError

    if not given:
        return KeyParams(hist.meta.get("key_params") or None)
    params = {}
    for item in split_values(given):
        name, sep, pattern = item.partition("=")
        if not sep or not name.strip() or not pattern.strip():
            raise InputError(f"--key-param must be NAME=PATTERN, got {item!r}", hint="e.g. --key-param gravity=physics.gravity")
        params[name.strip()] = pattern.strip()
    return KeyParams(params)


def _warehouse_or_none() -> Warehouse | None:
    """The chosen warehouse, or ``None`` when there is none (a file or W&B path can still be read)."""
    from runlab.cli._common import open_warehouse
    from runlab.errors import NotFoundError

    try:
        return open_warehouse()
    except NotFoundError:
        return None


def _load(run: str, wh: Warehouse | None) -> tuple[ConfigHistory, str | None]:
    """The history and, when it came from the warehouse, the run id there."""
    from runlab.envconfig import from_warehouse, load_history
    from runlab.errors import NotFoundError

    if Path(run).expanduser().exists() or wh is None:
        return load_history(run), None
    try:
        run_id = wh.resolve_run(run)
    except NotFoundError:
        if run.count("/") == 2:
            return load_history(run), None
        raise
    return from_warehouse(wh, run_id), run_id


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=str) + "\n")


def env_configs(run: RunArg = None, at_epoch: AtEpochOpt = None, as_json: JsonOpt = False,
                export_csv: CsvOpt = None, output_dir: OutDirOpt = None, export_sequence: SeqOpt = None,
                runs: RunsOpt = None, where: WhereOpt = None, correlate: CorrOpt = None,
                key_param: KeyOpt = None) -> None:
    """Analyse the env configurations a run trained on (its environment_configs history)."""
    from runlab.errors import InputError

    with cli_errors():
        if runs or (where and run is None):
            _list_runs(runs or ["*"], where or [], key_param, as_json)
            return
        if run is None:
            raise InputError("name a RUN, or pass --runs PATTERN --where CONDITION",
                             hint="e.g. `runlab env-configs curr-lp-s0` or `runlab env-configs --runs 'curr-*' "
                             "--where 'max_steps>200'`")
        wh = _warehouse_or_none()
        try:
            hist, run_id = _load(run, wh)
            kp = _key_params(hist, key_param)
            _outputs(hist, kp, export_csv, export_sequence, output_dir)
            if correlate:
                _correlate(hist, wh, run_id, correlate, as_json)
            elif at_epoch is not None:
                _at_epoch(hist, at_epoch, as_json)
            else:
                _summary(hist, kp, as_json)
        finally:
            if wh is not None:
                wh.close()


def _summary(hist: ConfigHistory, kp: KeyParams, as_json: bool) -> None:
    from runlab.envconfig import summary, summary_text

    s = summary(hist, kp)
    if as_json:
        _emit_json(s)
    else:
        console.print(Text(summary_text(s)), end="", soft_wrap=True)


def _at_epoch(hist: ConfigHistory, epoch: int, as_json: bool) -> None:
    from runlab.envconfig import epoch_text
    from runlab.errors import NotFoundError

    state = hist.at_epoch(epoch)
    if state is None:
        first = min((s.epoch for s in hist.spans), default=None)
        raise NotFoundError(f"nothing was recorded at or before epoch {epoch}",
                            hint=f"the history starts at epoch {first}" if first is not None else "the history is empty")
    if as_json:
        _emit_json(state.to_dict())
    else:
        console.print(Text(epoch_text(state)), end="", soft_wrap=True)


def _outputs(hist: ConfigHistory, kp: KeyParams, csv: Path | None, seq: Path | None, out_dir: Path | None) -> None:
    from runlab.envconfig import export_csv, export_sequence, summary, summary_text, write_figures
    from runlab.errors import InputError

    for opt, path in (("--export-csv", csv), ("--export-sequence", seq)):
        if path is not None and path.is_dir():
            raise InputError(f"{opt} {path} is a folder", hint=f"name a file inside it, e.g. {path / 'envconfig.out'}")
    if csv is not None:
        console.print(Text(f"wrote {export_csv(hist, csv, kp)} row(s) to {csv}"), soft_wrap=True)
    if seq is not None:
        console.print(Text(f"wrote {export_sequence(hist, seq)} state(s) to {seq}"), soft_wrap=True)
    if out_dir is not None:
        s = summary(hist, kp)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.txt").write_text(summary_text(s), encoding="utf-8")
        (out_dir / "summary.json").write_text(json.dumps(s, indent=1, default=str), encoding="utf-8")
        figs = write_figures(hist, out_dir, kp)
        console.print(Text(f"wrote report.txt, summary.json and {len(figs)} figure(s) to {out_dir}"), soft_wrap=True)


def _correlate(hist: ConfigHistory, wh: Warehouse | None, run_id: str | None, metric: str, as_json: bool) -> None:
    from runlab.cli._checks import require_metrics
    from runlab.envconfig import correlate, printable
    from runlab.errors import InputError

    if wh is None or run_id is None:
        raise InputError("--correlate needs the run in the warehouse (its metrics live there)",
                         hint="ingest it first: `runlab ingest RUN_FOLDER`, then pass its name or id")
    require_metrics(wh, [metric], [run_id])
    names = set(wh.metric_names([run_id])["metric"])
    axis, x_metric = ("epoch", "metric/epoch") if "metric/epoch" in names else ("agent_step", "metric/agent_step")
    if x_metric not in names:
        raise InputError(f"run {run_id} logs neither metric/epoch nor metric/agent_step; "
                         "cannot place its metric against configuration changes",
                         hint="log metric/epoch (or metric/agent_step) with the trainer's metrics")
    h = wh.history([run_id], [metric], x_axis=x_metric)
    res = correlate(hist, h["x"].to_numpy(dtype=float), h["value"].to_numpy(dtype=float), axis=axis)
    if as_json:
        _emit_json({"metric": metric, **res})
        return
    table = Table(title=Text(f"{metric} around configuration changes ({axis})"))
    for col in ("change", axis, "tasks in", "before", "after", "delta"):
        table.add_column(col, justify="left" if col == "tasks in" else "right")
    for i, r in enumerate(res["changes"], 1):
        table.add_row(str(i), str(r[axis]), Text(", ".join(printable(t) for t in r["added"]) or "-"),
                      *(Text("-" if r[k] is None else f"{r[k]:.4g}") for k in ("before", "after", "delta")))
    console.print(table)
    per = Table(title=Text("per task: mean change of the metric when the task came into play"))
    for col in ("task", "changes", "mean delta"):
        per.add_column(col)
    for t in res["tasks"]:
        per.add_row(Text(printable(t["task"])), str(t["changes"]),
                    "-" if t["mean_delta"] is None else f"{t['mean_delta']:.4g}")
    console.print(per)


def _list_runs(patterns: list[str], where: list[str], key_param: list[str] | None, as_json: bool) -> None:
    from runlab.cli._common import open_warehouse
    from runlab.envconfig import from_warehouse, matching_configs, parse_where, printable
    from runlab.errors import NotFoundError

    conditions = [parse_where(w) for w in where]
    found, without = [], []
    with open_warehouse() as wh:
        for run_id in wh.resolve_runs(patterns):
            try:
                hist = from_warehouse(wh, run_id)
            except NotFoundError:
                without.append(run_id)
                continue
            hits = matching_configs(hist, conditions, _key_params(hist, key_param))
            if hits:
                found.append({"run_id": run_id, "matches": hits})
    if as_json:
        _emit_json({"where": where, "runs": found, "runs_without_history": without})
        return
    table = Table(title=Text(f"runs whose env configs match {' and '.join(where) or '(anything)'}"))
    for col in ("run", "task", "first epoch", "key parameters"):
        table.add_column(col)
    for item in found:
        for m in item["matches"]:
            params = ", ".join(f"{k}={v}" for k, v in m["params"].items())
            table.add_row(Text(item["run_id"]), Text(printable(m["task"])), str(m["first_epoch"]),
                          Text(printable(params)))
    console.print(table)
    console.print(Text(f"{len(found)} run(s) match; {len(without)} selected run(s) have no env-config history"))


def register(app: typer.Typer) -> None:
    """Add ``runlab env-configs``."""
    app.command("env-configs", no_args_is_help=True)(env_configs)
