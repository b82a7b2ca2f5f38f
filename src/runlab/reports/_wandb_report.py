"""A W&B Report of one analysis, built with ``wandb-workspaces`` (the library behind ``wandb.apis.reports``).

The report holds the comparison's title and description, the IQM/CI table of each comparison,
the report figures (the images the export run logged, in a media browser over that run), a runset
of exactly the compared W&B runs (a filter on their ids; runs from TensorBoard or SB3 logs have no
W&B page and are counted in a note) with line plots of the primary metrics, and the analysis
config as a YAML code block.

Building a ``Report`` already asks the server for each runset's project, so what is written
locally is a spec of these parts (``wandb_report.json``, :data:`SPEC_FORMAT`), and one function
turns a spec into the ``Report``: saving now (online) and ``runlab report publish FILE`` later
(offline, no login, or a failed save) produce the same report.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runlab.errors import InputError, RunlabError
from runlab.reports._analysis import Analysis
from runlab.reports._figures import NamedFigure

SPEC_FORMAT = "runlab-wandb-report/1"
SPEC_FILE = "wandb_report.json"
_RUN_DIR = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-(?P<id>[A-Za-z0-9]+)$")
_ESTIMATE_COLUMNS = ("method", "aggregate", "estimate", "lower", "upper", "n_runs", "n_tasks")


@dataclass(frozen=True)
class WandbReportResult:
    """What became of the report: the spec file always, the URL when it was saved."""

    spec: Path
    url: str = ""
    note: str = ""


def report_spec(analysis: Analysis, figs: list[NamedFigure], analysis_run: Path | None) -> dict[str, Any]:
    """The parts of the report as plain JSON data (see the module doc)."""
    cfg = analysis.config
    runsets: dict[tuple[str, str], list[str]] = {}
    not_on_wandb = 0
    for run_id in analysis.runs["run_id"].tolist():
        source, _, path = str(run_id).partition(":")
        parts = path.split("/")
        if source == "wandb" and len(parts) == 3 and parts[0] != "local":
            runsets.setdefault((parts[0], parts[1]), []).append(parts[2])
        else:
            not_on_wandb += 1
    match = _RUN_DIR.match(analysis_run.name) if analysis_run is not None else None
    return {
        "format": SPEC_FORMAT,
        "entity": cfg.wandb.entity,
        "project": cfg.wandb.project or "runlab-analysis",
        "title": cfg.title[:128],
        "description": _description(analysis),
        "comparisons": [{"name": name, "table": _markdown_table(res.estimates)} for name, res in analysis.results.items()],
        "metrics": [m for m in cfg.metrics.primary],
        "runsets": [{"entity": e, "project": p, "ids": sorted(ids)} for (e, p), ids in sorted(runsets.items())],
        "not_on_wandb": not_on_wandb,
        "analysis_run": match.group("id") if match else None,
        "figures": [f"figures/{f.key}" for f in figs],
        "config_yaml": yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
    }


def _description(analysis: Analysis) -> str:
    cfg = analysis.config
    n_runs = len(analysis.runs)
    methods = sorted({str(m) for m in analysis.runs.get("method", [])})
    return (f"{', '.join(cfg.metrics.primary) or 'score'} compared across {len(methods)} method(s) over {n_runs} run(s): "
            f"IQM and {cfg.analysis.confidence_level:.0%} stratified-bootstrap intervals "
            f"({cfg.analysis.bootstrap_samples} resamples), made by runlab.")


def _cell(value: Any) -> str:
    """Markdown table cell text: no pipes, markup or line breaks survive from the data."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


def _markdown_table(estimates: Any) -> str:
    columns = [c for c in _ESTIMATE_COLUMNS if c in estimates.columns] or list(estimates.columns)
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in estimates[columns].itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def report_from_spec(spec: dict[str, Any]) -> Any:
    """The ``wandb_workspaces`` Report a spec describes (not saved). Raises InputError for a bad spec."""
    import wandb_workspaces.reports.v2 as wr
    from wandb_workspaces import expr

    _check_spec(spec)
    blocks: list[Any] = [wr.P(spec["description"])]
    for comparison in spec["comparisons"]:
        blocks += [wr.H2(f"Comparison: {comparison['name']}"), wr.MarkdownBlock(comparison["table"])]
    if spec["runsets"]:
        runsets = [wr.Runset(entity=r["entity"], project=r["project"], name=f"compared runs ({r['project']})",
                             filters=[expr.Metric("ID").isin(list(r["ids"]))]) for r in spec["runsets"]]
        panels = [wr.LinePlot(title=m, x="Step", y=[m]) for m in spec["metrics"]]
        blocks += [wr.H2("Compared runs"), wr.PanelGrid(runsets=runsets, panels=panels)]
    if spec["not_on_wandb"]:
        blocks.append(wr.P(f"{spec['not_on_wandb']} compared run(s) came from TensorBoard or SB3 logs and have no W&B "
                           "page; they are in the tables and figures."))
    if spec["analysis_run"] and spec["figures"]:
        figures = wr.Runset(entity=spec["entity"] or "", project=spec["project"], name="analysis run",
                            filters=[expr.Metric("ID").isin([spec["analysis_run"]])])
        blocks += [wr.H2("Figures"), wr.PanelGrid(runsets=[figures], panels=[
            wr.MediaBrowser(title=key.removeprefix("figures/"), media_keys=[key]) for key in spec["figures"]])]
    blocks += [wr.H2("Analysis config"), wr.CodeBlock(code=spec["config_yaml"], language="yaml")]
    kwargs = {"entity": spec["entity"]} if spec["entity"] else {}
    return wr.Report(project=spec["project"], title=spec["title"], description=spec["description"], blocks=blocks,
                     **kwargs)


def _check_spec(spec: Any) -> None:
    if not isinstance(spec, dict) or spec.get("format") != SPEC_FORMAT:
        raise InputError(f"not a runlab W&B report spec (format {SPEC_FORMAT!r} expected)",
                         hint=f"pass the {SPEC_FILE} that `runlab report --to-wandb` wrote")


def _prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """Name the viewer's default entity when none is configured, and make sure the report's project exists.

    ``Report.save()`` looks up every runset's project before it creates a new one, so the
    analysis run's runset (in the report's own project) needs the project first, as it has
    once the offline analysis run is synced.
    """
    import wandb

    api = wandb.Api()
    entity = spec["entity"] or api.default_entity
    if not any(p.name == spec["project"] for p in api.projects(entity)):
        api.create_project(spec["project"], entity)
    return {**spec, "entity": entity}


def save_report(spec: dict[str, Any]) -> str:
    """Build and save the report on the W&B server the client is logged in to; return its URL."""
    _check_spec(spec)
    where = f"{spec.get('entity') or '(default entity)'}/{spec.get('project')}"
    try:
        spec = _prepare(spec)
        where = f"{spec['entity']}/{spec['project']}"
        report = report_from_spec(spec)
        report.save()
        return str(report.url)
    except InputError:
        raise
    except Exception as exc:  # the client raises requests, GraphQL and pydantic errors alike
        detail = " ".join(str(exc).split())[:300]
        raise RunlabError(f"saving the W&B Report to {where} failed: {type(exc).__name__}: {detail}",
                          hint="check `wandb login` and the server (and `wandb sync` the analysis run), then "
                               f"publish the written spec with `runlab report publish {SPEC_FILE}`") from None


def offline() -> bool:
    """Whether the W&B client would not reach a server: offline mode, or no API key anywhere."""
    if os.environ.get("WANDB_MODE", "").lower() in ("offline", "dryrun", "disabled"):
        return True
    try:
        import wandb

        return not wandb.Api().api_key
    except Exception:  # no key: wandb raises UsageError, or AuthenticationError for a bad one
        return True


def write_and_publish(analysis: Analysis, figs: list[NamedFigure], out_dir: Path,
                      analysis_run: Path | None) -> WandbReportResult:
    """Write ``wandb_report.json`` into ``out_dir``; save the report too unless offline.

    A failed save raises :class:`RunlabError` naming the written spec; everything else in
    ``out_dir`` was written before.
    """
    spec = report_spec(analysis, figs, analysis_run)
    path = out_dir / SPEC_FILE
    path.write_text(json.dumps(spec, indent=1, ensure_ascii=False), encoding="utf-8")
    if analysis.config.wandb.mode == "offline" or offline():
        return WandbReportResult(path, note=f"offline: publish it later with `runlab report publish {path}`")
    try:
        return WandbReportResult(path, url=save_report(spec))
    except RunlabError as exc:
        raise RunlabError(f"{exc.message}. The local report is complete in {out_dir}; the W&B Report spec is {path}",
                          hint=f"`runlab report publish {path}` once the server answers") from None


def publish_wandb_report(path: str | Path) -> str:
    """Save the report a written ``wandb_report.json`` describes; return its URL."""
    file = Path(path).expanduser()
    try:
        spec = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no such file: {str(file)!r}", hint=f"pass the {SPEC_FILE} next to report.html") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{str(file)!r} is not readable JSON: {exc}", hint=f"pass the {SPEC_FILE} runlab wrote") from None
    return save_report(spec)
