"""`runlab label ...`: label runs by config value, name pattern, by hand, or interactively.

Precedence when several kinds label the same column: manual > function > pattern > config.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich import box
from rich.table import Column, Table
from rich.text import Text

from runlab.cli._checks import require_config_path
from runlab.cli._common import cli_errors, console, err_console, open_warehouse
from runlab.cli._render import text
from runlab.errors import NotFoundError

label_app = typer.Typer(help="Label runs for grouping (manual > function > pattern > config).",
                        no_args_is_help=True)

ColumnOpt = Annotated[str, typer.Option("--column", "-c", help="Label column (key).")]


@label_app.command("config")
def label_config(
    path: Annotated[str, typer.Argument(help="Dotted config path, e.g. trainer.algorithm.")],
    column: Annotated[str | None, typer.Option("--column", "-c", help="Label column (default: last path part).")] = None,
) -> None:
    """Label every run with its config value at PATH."""
    from runlab.labels import RunLabeler
    with cli_errors(), open_warehouse(read_only=False) as wh:
        require_config_path(wh, path)
        labeler = RunLabeler().add_config_rule(path, label_column=column)
        frame = labeler.apply(wh)
        col = column or path.rsplit(".", 1)[-1]
        n = int(frame[col].notna().sum()) if col in frame else 0
    console.print(Text(f"labelled {n} of {len(frame)} run(s) with column {col!r} from config {path!r}"))


@label_app.command("pattern")
def label_pattern(
    pattern: Annotated[str, typer.Argument(help="Glob ('*_baseline') or regex ('re:...', '^...$') on run names.")],
    label: Annotated[str, typer.Argument(help="Label value for matching runs.")],
    column: ColumnOpt = "label",
) -> None:
    """Label runs whose name matches PATTERN."""
    from runlab.labels import RunLabeler
    with cli_errors(), open_warehouse(read_only=False) as wh:
        labeler = RunLabeler().add_pattern_rule(pattern, label=label, column=column)
        per_origin = labeler.compute(wh)
        # Only this rule: add its labels without removing earlier pattern labels of the column.
        matched = per_origin["pattern"]
        if not matched:
            raise NotFoundError(f"no run name matches {pattern!r}",
                                hint="globs must match the whole name ('*_baseline'); regexes start with 're:'; "
                                "see the names with `runlab runs list`")
        wh.set_labels(matched, origin="pattern")
    console.print(Text(f"labelled {len(matched)} run(s) {column}={label!r}"))


@label_app.command("set")
def label_set(
    run: Annotated[str, typer.Argument(help="Run id, short id, or unique name.")],
    label: Annotated[str, typer.Argument(help="Label value ('' removes the manual label).")],
    column: ColumnOpt = "label",
) -> None:
    """Set a manual label on one run (wins over every rule)."""
    with cli_errors(), open_warehouse(read_only=False) as wh:
        run_id = wh.resolve_run(run)
        wh.set_labels({run_id: {column: label or None}}, origin="manual")
    console.print(Text(f"{run_id}: {column}={label!r}" if label else f"{run_id}: removed manual {column}"))


@label_app.command("list")
def label_list(
    all_origins: Annotated[bool, typer.Option("--all", help="Show every origin, not only the winning label.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List labels with their origin."""
    import json

    with cli_errors(), open_warehouse() as wh:
        lab = wh.labels(all_origins=all_origins)
        names = dict(wh.run_index())
    rows = [
        {"run_id": r, "run_name": names.get(r, ""), "key": k, "value": v, "origin": o}
        for r, k, v, o in zip(lab["run_id"], lab["key"], lab["value"], lab["origin"], strict=True)
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("run", "run id", "column", "value", "origin", title=f"{len(rows)} label(s)")
    for row in rows:
        table.add_row(text(row["run_name"]), text(row["run_id"]), text(row["key"]), text(row["value"]),
                      text(row["origin"]))
    console.print(table)


@label_app.command("interactive")
def label_interactive(
    column: ColumnOpt = "label",
    runs: Annotated[list[str] | None, typer.Option("--runs", help="Runs to label (ids, names, globs).")] = None,
    unlabelled: Annotated[bool, typer.Option("--unlabelled", help="Only runs without this label.")] = False,
) -> None:
    """Show the runs, then ask for a label per run (Enter keeps, '-' removes; works with piped input)."""
    from runlab.warehouse.helpers import short_id

    with cli_errors(), open_warehouse(read_only=False) as wh:
        ids = wh.resolve_runs(runs)
        frame = wh.runs(ids)
        lab = wh.labels(ids)
        current = {r: v for r, k, v in zip(lab["run_id"], lab["key"], lab["value"], strict=True) if k == column}
        rows = [r for r in frame.to_dict("records") if not (unlabelled and r["run_id"] in current)]
        table = Table("#", Column("name", no_wrap=True), Column("id", no_wrap=True), "state",
                      f"{column} (now)", title="runs to label", title_justify="left", box=box.SIMPLE_HEAD)
        for i, r in enumerate(rows, start=1):
            table.add_row(text(i), text(r["name"]), text(short_id(r["run_id"])), text(r["state"]),
                          text(current.get(r["run_id"], "")))
        console.print(table)
        changes: dict[str, dict[str, str | None]] = {}
        for i, r in enumerate(rows, start=1):
            now = current.get(r["run_id"], "")
            prompt = Text(f"[{i}/{len(rows)}] {column} for ")
            prompt.append(str(r["name"] or r["run_id"]), style="bold")
            prompt.append(f" [{now}]: " if now else ": ")
            console.print(prompt, end="")
            line = sys.stdin.readline()
            if not line:  # end of input: keep what was entered so far
                console.print()
                if i <= len(rows):
                    err_console.print(Text(f"input ended after {i - 1} of {len(rows)} run(s); "
                                           "the others keep their labels"))
                break
            answer = line.rstrip("\r\n").strip()
            if not sys.stdin.isatty():  # piped answers are not echoed by a terminal: show them
                console.print(Text(answer or "(kept)"))
            if answer == "-":
                changes[r["run_id"]] = {column: None}
            elif answer:
                changes[r["run_id"]] = {column: answer}
        if changes:
            wh.set_labels(changes, origin="manual")
    console.print(Text(f"saved {len(changes)} label change(s) in column {column!r}"))


def register(app: typer.Typer) -> None:
    """Add ``runlab label``."""
    app.add_typer(label_app, name="label")
