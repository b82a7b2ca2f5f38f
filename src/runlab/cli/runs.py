"""`runlab runs list|show|metrics`: what is in the warehouse."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.pretty import Pretty
from rich.table import Table
from rich.text import Text

from runlab.cli._common import cli_errors, console, open_warehouse
from runlab.cli._render import text

runs_app = typer.Typer(help="List and inspect runs in the warehouse.", no_args_is_help=True)

JSON_FIELDS = ["run_id", "name", "source", "entity", "project", "group", "job_type", "tags", "state",
               "created_at", "updated_at", "sweep_id", "notes", "history_rows", "max_step", "config", "summary"]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    from runlab.warehouse.helpers import strict_json

    out: dict[str, Any] = {}
    for key in JSON_FIELDS:
        value = row.get(key)
        if isinstance(value, pd.Timestamp):
            value = None if pd.isna(value) else value.isoformat()
        elif value is pd.NaT or (not isinstance(value, list | dict | str) and pd.isna(value)):
            value = None
        elif hasattr(value, "item"):
            value = value.item()
        out[key] = strict_json(value)
    return out


@runs_app.command("list")
def list_runs(
    refs: Annotated[list[str] | None, typer.Argument(help="Run ids, names or globs (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array (config and summary nested).")] = False,
    wide: Annotated[
        bool, typer.Option("--wide", "-w", help="Every column at full width (full run id, group, tags).")
    ] = False,
) -> None:
    """List runs: name, short id, state, steps, labels, tags (--wide: full id and group; --json: all)."""
    with cli_errors(), open_warehouse() as wh:
        ids = wh.resolve_runs(refs or None)
        frame = wh.runs(ids)
        labels = wh.labels(ids)
    # Sorted by name then id, so the list reads the same every time (and groups seeds together).
    frame = frame.sort_values(["name", "run_id"], kind="stable", key=lambda c: c.astype(str))
    per_run: dict[str, dict[str, str]] = {}
    for rid, key, value in zip(labels["run_id"], labels["key"], labels["value"], strict=True):
        per_run.setdefault(rid, {})[key] = value
    rows = frame.to_dict("records")
    if as_json:
        items = []
        for row in rows:
            item = _jsonable(row)
            item["labels"] = per_run.get(row["run_id"], {})
            items.append(item)
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print(Text("no runs in this warehouse yet: add some with `runlab ingest wandb/` "
                           "or `runlab fetch ENTITY/PROJECT`" if not refs else "no runs selected"))
        return
    table = _runs_table(rows, per_run, wide=wide)
    if wide:  # natural width: lines run past the terminal (for `less -S` or a file), nothing is cut
        from rich.console import Console
        from rich.measure import Measurement

        width = Measurement.get(console, console.options.update_width(100_000), table).maximum
        Console(width=max(width, console.width), no_color=console.no_color).print(table)
    else:
        console.print(table)


def _steps(value: Any) -> str:
    return "" if value is None or value != value else str(value)


def _tags(tags: Any, limit: int = 2) -> str:
    """The first tags, comma-joined, and how many more (the compact list stays one line per run)."""
    items = [str(t) for t in (tags.tolist() if hasattr(tags, "tolist") else tags or [])]
    shown = ", ".join(items[:limit])
    return shown + (f" +{len(items) - limit}" if len(items) > limit else "")


def _runs_table(rows: list[dict[str, Any]], per_run: dict[str, dict[str, str]], *, wide: bool) -> Table:
    """The runs table. Compact by default so names and ids stay whole in an 80-column terminal.

    Name and short id never wrap or shrink (they are what the user types next, into ``runs show``
    or ``--runs``); the labels-and-tags column is cut with an ellipsis instead, so every run is one
    line. ``--wide`` shows every column at full width.
    """
    from runlab.warehouse.helpers import short_id

    table = Table(title=f"{len(rows)} run(s)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    if wide:
        for name in ("name", "run id", "group", "state", "steps", "tags", "labels"):
            table.add_column(name, no_wrap=True)
    else:
        longest_name = max(len(str(r["name"] or "")) for r in rows)
        longest_id = max(len(short_id(r["run_id"])) for r in rows)
        name_w, id_w = min(max(longest_name, 4), 48), min(max(longest_id, 2), 24)
        state_w = max(5, *(len(str(r["state"] or "")) for r in rows))
        steps_w = max(5, *(len(_steps(r["max_step"])) for r in rows))
        table.add_column("name", no_wrap=True, min_width=name_w)
        table.add_column("id", no_wrap=True, min_width=id_w)
        table.add_column("state", no_wrap=True, min_width=state_w)
        table.add_column("steps", justify="right", no_wrap=True, min_width=steps_w)
        # One line per run: labels, then tags, cut with an ellipsis at the terminal's edge (--wide shows all).
        rest = console.width - (name_w + id_w + state_w + steps_w) - 2 * 5
        table.add_column("labels; tags", overflow="ellipsis", no_wrap=True, max_width=max(rest, 8))
    for row in rows:
        labs = ", ".join(f"{k}={v}" for k, v in per_run.get(row["run_id"], {}).items())
        if wide:
            table.add_row(text(row["name"]), text(row["run_id"]), text(row["group"]), text(row["state"]),
                          text(_steps(row["max_step"])), text(row["tags"]), text(labs))
        else:
            table.add_row(text(row["name"]), text(short_id(row["run_id"])), text(row["state"]),
                          text(_steps(row["max_step"])), text("; ".join(filter(None, [labs, _tags(row["tags"])]))))
    return table


@runs_app.command("show")
def show_run(run: Annotated[str, typer.Argument(help="Run id, short id, or unique name.")]) -> None:
    """Show one run: metadata, labels, config, summary, metrics, artifacts."""
    with cli_errors(), open_warehouse() as wh:
        info = wh.get_run(run)
        metrics = wh.metric_names([info["run_id"]])
        artifacts = wh.artifacts([info["run_id"]])
        tables = wh.tables(info["run_id"])
    meta = Table.grid(padding=(0, 2))
    for key in ("run_id", "name", "source", "entity", "project", "group", "job_type", "state", "tags",
                "created_at", "updated_at", "sweep_id", "notes", "history_rows", "max_step", "origin_path"):
        meta.add_row(Text(key, style="bold"), text(info.get(key)))
    console.print(meta)
    for title, value in (("labels", info["labels"]), ("config", info["config"]), ("summary", info["summary"])):
        console.print(Text(title, style="bold underline"))
        console.print(Pretty(value))
    if info.get("problems"):
        console.print(Text("problems", style="bold underline"))
        for p in info["problems"]:
            console.print(text(p))
    console.print(Text(f"{len(metrics)} metric(s), "
                       f"{int(metrics['n_nonfinite'].sum()) if len(metrics) else 0} non-finite value(s)",
                       style="bold"))
    if len(metrics):
        mt = Table("metric", "rows", "non-finite", "steps")
        for m in metrics.head(50).itertuples():
            mt.add_row(text(m.metric), text(m.n_rows), text(m.n_nonfinite), text(f"{m.min_step}..{m.max_step}"))
        console.print(mt)
        if len(metrics) > 50:
            console.print(Text(f"... and {len(metrics) - 50} more"))
    if len(artifacts):
        at = Table("artifact", "type", "version", "path")
        for a in artifacts.itertuples():
            at.add_row(text(a.name), text(a.type), text(a.version), text(a.path))
        console.print(at)
    if tables:
        console.print(Text(f"tables: {', '.join(tables)}"))


@runs_app.command("metrics")
def list_metrics(
    refs: Annotated[list[str] | None, typer.Argument(help="Run ids, names or globs (default: all runs).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
) -> None:
    """Metric names logged by the selected runs: rows, non-finite values, step range, run coverage."""
    with cli_errors(), open_warehouse() as wh:
        ids = wh.resolve_runs(refs or None)
        names = wh.metric_names(ids) if ids else wh.metric_names([])
    rows = []
    for metric, g in names.groupby("metric", sort=True):
        rows.append({"metric": str(metric), "runs": int(g["run_id"].nunique()), "of_runs": len(ids),
                     "rows": int(g["n_rows"].sum()), "nonfinite": int(g["n_nonfinite"].sum()),
                     "min_step": int(g["min_step"].min()), "max_step": int(g["max_step"].max())})
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print(Text("no metrics: the selected runs logged no history"))
        return
    table = Table(title=f"{len(rows)} metric(s) in {len(ids)} run(s)", title_justify="left", box=box.SIMPLE_HEAD)
    for col, justify in (("metric", "left"), ("runs", "right"), ("rows", "right"), ("non-finite", "right"),
                         ("steps", "right")):
        table.add_column(col, justify=justify, overflow="fold" if col == "metric" else None)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(text(r["metric"]), f"{r['runs']}/{r['of_runs']}", str(r["rows"]), str(r["nonfinite"]),
                      f"{r['min_step']}..{r['max_step']}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``runlab runs``."""
    app.add_typer(runs_app, name="runs")
