"""``build_report``: one call from a warehouse and a configuration to every report format."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from runlab.errors import InputError
from runlab.reports._analysis import Analysis, analyse
from runlab.reports._config import CompareConfig, validate_config
from runlab.reports._data import write_data
from runlab.reports._figures import NamedFigure, report_figures, worst_cases
from runlab.reports._headline import headline, summary_table, title_of
from runlab.reports._html import HtmlFigure, HtmlSection, render_html
from runlab.reports._latex import estimates_latex, tests_latex
from runlab.reports._notebook import write_notebook

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse


@dataclass(frozen=True)
class ReportFiles:
    """Where everything was written."""

    out_dir: Path
    html: Path
    notebook: Path | None
    latex: list[Path]
    csv: list[Path]
    figures: list[Path]
    data_dir: Path
    wandb_run_dir: Path | None = None
    wandb_report: Path | None = None
    """``wandb_report.json``: the W&B Report's spec (``runlab report publish`` saves it later)."""
    wandb_report_url: str = ""
    """The saved W&B Report's URL ("" when offline or not logged in)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage (analysis, figures, files, notebook, wandb)."""


def build_report(
    wh: Warehouse,
    config: CompareConfig | dict[str, Any],
    out_dir: str | Path,
    *,
    notebook: bool = True,
    execute: bool = True,
    to_wandb: bool = False,
    timeout: int = 600,
) -> ReportFiles:
    """Analyse the warehouse as ``config`` says and write the report into ``out_dir``.

    Writes ``report.html`` (self-contained), ``analysis.ipynb`` (executed unless ``execute`` is
    False; skipped when ``notebook`` is False), ``tables/*.tex``, ``csv/*.csv``,
    ``figures/*.png`` and ``data/`` (the processed dataset the notebook reads). With
    ``to_wandb`` the results are also logged to W&B as Tables, Images and a dataset Artifact, and
    a W&B Report is saved (or, offline, its spec written as ``wandb_report.json``).
    Long because each output stage is timed in line; the stages themselves are calls.
    """
    cfg = config if isinstance(config, CompareConfig) else validate_config(config)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out must be a directory, got the file {str(out)!r}")
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    analysis = analyse(wh, cfg)
    timings["analysis"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    figs = report_figures(analysis)
    pngs = {f.key: f.png() for f in figs}
    fig_paths = _write_figures(pngs, out / "figures")
    timings["figures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = write_data(analysis, out)
    latex = _write_latex(analysis, out / "tables")
    html_path = out / "report.html"
    html_path.write_text(render_html(cfg.title, _sections(analysis, figs, pngs), analysis.runs), encoding="utf-8")
    timings["files"] = time.perf_counter() - t0
    nb_path = None
    if notebook:
        t0 = time.perf_counter()
        a = cfg.analysis
        nb_path = write_notebook(
            out / "analysis.ipynb",
            cfg.title,
            reps=a.bootstrap_samples,
            seed=a.seed,
            confidence=a.confidence_level,
            execute=execute,
            timeout=timeout,
        )
        timings["notebook"] = time.perf_counter() - t0
    wandb_dir = wandb_report = None
    if to_wandb:
        from runlab.reports._wandb import export_to_wandb
        from runlab.reports._wandb_report import write_and_publish

        t0 = time.perf_counter()
        wandb_dir = export_to_wandb(analysis, figs, out)
        wandb_report = write_and_publish(analysis, figs, out, wandb_dir)
        timings["wandb"] = time.perf_counter() - t0
    for f in figs:
        f.figure.clear()
    return ReportFiles(
        out_dir=out,
        html=html_path,
        notebook=nb_path,
        latex=latex,
        csv=sorted(p for k, p in paths.items() if k.endswith(".csv")),
        figures=fig_paths,
        data_dir=out / "data",
        wandb_run_dir=wandb_dir,
        wandb_report=wandb_report.spec if wandb_report else None,
        wandb_report_url=wandb_report.url if wandb_report else "",
        timings=timings,
    )


def _write_figures(pngs: dict[str, bytes], fig_dir: Path) -> list[Path]:
    fig_dir.mkdir(exist_ok=True)
    paths = []
    for key, png in pngs.items():
        (fig_dir / f"{key}.png").write_bytes(png)
        paths.append(fig_dir / f"{key}.png")
    return paths


def _write_latex(analysis: Analysis, tex_dir: Path) -> list[Path]:
    tex_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (name, res) in enumerate(analysis.results.items()):
        conf = res.settings["confidence"]
        est = tex_dir / f"estimates_{i}.tex"
        est.write_text(
            estimates_latex(
                res.estimates,
                caption=f"{title_of(name)}: point estimates with {conf:.0%} stratified-bootstrap CIs",
                label=f"tab:estimates-{i}",
            ),
            encoding="utf-8",
        )
        tst = tex_dir / f"tests_{i}.tex"
        tst.write_text(
            tests_latex(res.tests, caption=f"{title_of(name)}: pairwise tests ({res.settings['correction']} correction)",
                        label=f"tab:tests-{i}"),
            encoding="utf-8",
        )
        out += [est, tst]
    return out


def _sections(analysis: Analysis, figs: list[NamedFigure], pngs: dict[str, bytes]) -> list[HtmlSection]:
    sections = []
    if analysis.notes:
        sections.append(HtmlSection("Notes", notes=analysis.notes))
    for name, res in analysis.results.items():
        title = title_of(name)
        mine = [
            HtmlFigure(pngs[f.key], f.title, f"{title}: {f.title}")
            for f in figs
            if f.comparison == name and f.kind != "efficiency"
        ]
        worst = pd.DataFrame(worst_cases(res), columns=["method", "worst task", "mean score"])
        settings = pd.DataFrame(
            [(k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in res.settings.items()],
            columns=["setting", "value"],
        )
        sections.append(
            HtmlSection(
                f"Comparison: {title}",
                headline=headline(res),
                notes=[*res.matrix.missing.lines(), *res.notes],
                tables=[
                    (f"Per method: estimate [{res.settings['confidence']:.0%} CI], three significant digits",
                     summary_table(res)),
                    ("Estimates with confidence intervals (full precision)", res.estimates),
                    ("Significance tests", res.tests),
                    ("Probability of improvement", res.improvement),
                    ("Worst task per method", worst),
                    ("Settings", settings),
                ],
                figures=mine,
            )
        )
    for name, curve in analysis.efficiency.items():
        mine = [
            HtmlFigure(pngs[f.key], f.title, f"{title_of(name)}: {curve.aggregate} along {curve.x_axis} with CI bands")
            for f in figs
            if f.comparison == name and f.kind == "efficiency"
        ]
        sections.append(
            HtmlSection(
                f"Sample efficiency: {title_of(name)}",
                notes=curve.notes,
                tables=[(f"{curve.aggregate} at the last grid point ({curve.x_axis} = {curve.x[-1]:,.6g})", curve.final().drop(columns="x"))],
                figures=mine,
            )
        )
    if len(analysis.secondary):
        sections.append(HtmlSection("Secondary metrics", tables=[("Summary per method", analysis.secondary)]))
    return sections
