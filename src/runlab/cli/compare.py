"""`runlab compare`: estimates with CIs and pairwise tests from the local warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runlab.cli._common import cli_errors, console, err_console, open_warehouse

if TYPE_CHECKING:
    from runlab.compare import CompareResult


def _split(config: str | None, overrides: list[str] | None) -> tuple[Path | None, list[str]]:
    """The first positional argument is a config file unless it is a ``key=value`` override."""
    rest = list(overrides or [])
    if config is not None and "=" in config and not Path(config).exists():
        return None, [config, *rest]
    return (Path(config) if config else None), rest


def _ci(lo: float, hi: float, fmt: str = ".4g") -> str:
    """``[lo, hi]``, or why there is none (a method with a single run per task)."""
    if lo != lo or hi != hi:  # NaN
        return "[no CI: 1 run]"
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def print_result(name: str, res: CompareResult) -> None:
    """Rich tables: estimates with CIs, probability of improvement, tests; then the notes."""
    from rich.markup import escape
    from rich.table import Table

    conf = res.settings["confidence"]
    est = Table(title=f"{escape(name)}: estimates with {conf:.0%} CIs ({res.settings['reps']} bootstrap reps)")
    aggs = list(dict.fromkeys(res.estimates["aggregate"]))
    est.add_column("method")
    for a in aggs:
        est.add_column(escape(a), justify="right")
    est.add_column("runs x tasks", justify="right")
    cell = res.estimates.set_index(["method", "aggregate"])
    for m in res.matrix.methods:
        row = [f"{cell.loc[(m, a), 'estimate']:.4g} {_ci(cell.loc[(m, a), 'lower'], cell.loc[(m, a), 'upper'])}"
               for a in aggs]
        shape = res.score_dict[m].shape
        est.add_row(escape(m), *row, f"{shape[0]} x {shape[1]}")
    console.print(est)
    if len(res.improvement):
        poi = Table(title="probability of improvement P(X > Y)")
        for c in ("X", "Y", "P", "CI"):
            poi.add_column(c)
        for r in res.improvement.itertuples(index=False):
            poi.add_row(escape(r.method_x), escape(r.method_y), f"{r.probability:.3f}", _ci(r.lower, r.upper, ".3f"))
        console.print(poi)
    if len(res.tests):
        tests = Table(title=f"pairwise tests ({res.settings['correction']} correction, alpha={res.settings['alpha']})")
        for c in ("X", "Y", "test", "statistic", "p", "p adjusted", "significant"):
            tests.add_column(c)
        for r in res.tests.itertuples(index=False):
            tests.add_row(
                escape(r.method_x), escape(r.method_y), r.test, f"{r.statistic:.4g}", f"{r.p_value:.4g}",
                f"{r.p_adjusted:.4g}", "yes" if r.reject else "no",
            )
        console.print(tests)
    for line in [*res.matrix.missing.lines(), *res.notes]:
        err_console.print(f"note: {line}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the runlab app."""

    @app.command("compare")
    def compare_cmd(
        config: Annotated[
            str | None, typer.Argument(help="YAML config (wandb, metrics, analysis, optimal_scores, ...).")
        ] = None,
        overrides: Annotated[
            list[str] | None, typer.Argument(help="key=value overrides, e.g. metrics.primary=[reward] group_by=algo.")
        ] = None,
    ) -> None:
        """Compare methods: IQM/median/mean with bootstrap CIs, probability of improvement, tests.

        Reads the local warehouse (--home). Methods come from group_by (a label key or config path),
        tasks from task_by (config path or metric regex with (?P<task>...)).
        """
        with cli_errors():
            from runlab.reports import check_requested_metrics, compare_matrix, load_config, matrix_for

            path, rest = _split(config, overrides)
            cfg = load_config(path, rest)
            with open_warehouse() as wh:
                for line in check_requested_metrics(wh, cfg):
                    err_console.print(f"note: {line}", markup=False, highlight=False)
                for metric in cfg.score_metrics():
                    res = compare_matrix(matrix_for(wh, cfg, metric), cfg)
                    print_result(metric or str(cfg.task_by), res)
