"""``evaluation.json``, ``report.md`` and a one-file ``report.html`` for an :class:`EvaluationResult`.

Every name that reaches HTML (run ids, fold labels, config values) goes through ``html.escape``;
figures are embedded as base64 PNG, so the report is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from runlab.curves._evaluate import EvaluationResult

COLUMNS = ("rmse", "final_error", "spearman", "coverage", "crps", "fit_s")


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def markdown_table(result: EvaluationResult, task: str = "config") -> str:
    """The score table of one task as Markdown."""
    head = "| model | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, s in result.scores[task].items():
        lines.append(f"| {name} | " + " | ".join(_fmt(s.get(c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def markdown_report(result: EvaluationResult, title: str = "Curve prediction") -> str:
    """The whole report as Markdown (tables, notes, held-out folds)."""
    parts = [f"# {title}", "",
             f"Split `{result.split}`, {len(result.folds)} fold(s), {len(result.run_ids)} held-out run(s); "
             f"scores in {result.units}; intervals {result.interval:.0%}.", "",
             "## From the config (whole curve)", "", markdown_table(result, "config"), "",
             f"## From the first {result.prefix_fraction:.0%} of the curve (the rest)", "",
             markdown_table(result, "prefix"), "", "## Notes", ""]
    parts += [f"- {n}" for n in result.notes]
    parts += ["", "## Folds", ""] + [f"- {f}" for f in result.folds]
    skipped = result.dataset.get("skipped", {})
    parts += ["", f"## Runs left out ({len(skipped)})", ""] + [f"- {r}: {why}" for r, why in sorted(skipped.items())]
    return "\n".join(parts) + "\n"


def _html_table(result: EvaluationResult, task: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("model", *COLUMNS))
    body = "".join("<tr><td>" + html.escape(name) + "</td>" + "".join(f"<td>{_fmt(s.get(c))}</td>" for c in COLUMNS)
                   + "</tr>" for name, s in result.scores[task].items())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(result: EvaluationResult, figures: list[Path], title: str = "Curve prediction") -> str:
    """The report as one self-contained HTML page."""
    imgs = "".join(f'<img alt="{html.escape(p.stem)}" src="data:image/png;base64,'
                   f'{base64.b64encode(p.read_bytes()).decode()}">' for p in figures)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    folds = "".join(f"<li>{html.escape(f)}</li>" for f in result.folds)
    skipped = result.dataset.get("skipped", {})
    left = "".join(f"<li>{html.escape(r)}: {html.escape(w)}</li>" for r, w in sorted(skipped.items()))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child{text-align:left}img{max-width:100%}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Split <code>{html.escape(result.split)}</code>, {len(result.folds)} "
        f"fold(s), {len(result.run_ids)} held-out run(s); scores in {html.escape(result.units)}.</p>"
        f"<h2>From the config</h2>{_html_table(result, 'config')}"
        f"<h2>From the first {result.prefix_fraction:.0%} of the curve</h2>{_html_table(result, 'prefix')}"
        f"<h2>Notes</h2><ul>{notes}</ul><h2>Figures</h2>{imgs}<h2>Folds</h2><ul>{folds}</ul>"
        f"<h2>Runs left out ({len(skipped)})</h2><ul>{left}</ul></body></html>"
    )


def write_report(result: EvaluationResult, out_dir: Path | str, title: str = "Curve prediction") -> dict[str, Path]:
    """Write ``evaluation.json``, the figures, ``report.md`` and ``report.html`` into ``out_dir``."""
    from runlab.curves._plots import plot_example_curves, plot_predicted_vs_actual

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"evaluation": out / "evaluation.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["evaluation"].write_text(json.dumps(result.to_dict(), indent=1, allow_nan=False, default=_json_default),
                                   encoding="utf-8")
    figures = [plot_predicted_vs_actual(result, out / "predicted_vs_actual.png")]
    if "vae-ensemble" in result.predictions["config"]:
        figures.append(plot_example_curves(result, out / "example_curves.png"))
    paths["markdown"].write_text(markdown_report(result, title), encoding="utf-8")
    paths["html"].write_text(html_report(result, figures, title), encoding="utf-8")
    for f in figures:
        paths[f.stem] = f
    return paths


def _json_default(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
