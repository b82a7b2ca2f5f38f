"""Output folders of ``analyze`` and ``replay``: tables (CSV + Parquet), PNG figures, Markdown and HTML.

The HTML page is one self-contained file: figures are inline base64 PNGs, there is no script and
no external reference, and every piece of text from the data (task names, seeds, groups, problem
messages) goes through ``html.escape``. In Markdown, names are HTML-escaped too (renderers pass
raw HTML through) and ``|``, ``*``, ``_``, `````, ``[`` are backslash-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from runlab.csvsafe import write_csv

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from runlab.rewards._analyze import StreamAnalysis
    from runlab.rewards._replay import ReplayResult
    from runlab.rewards._streams import RewardStreams


@dataclass
class ReportFiles:
    """Paths of what a report writer produced."""

    out_dir: Path
    markdown: Path | None = None
    html: Path | None = None
    tables: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)


def _md(text: Any) -> str:
    return re.sub(r"([\\|*_`\[\]#])", r"\\\1", html.escape(str(text), quote=False)).replace("\n", " ")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md(c) for c in df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(_md(_fmt(v)) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _save(fig: Figure, path: Path) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    data = buf.getvalue()
    path.write_bytes(data)
    return data


def _tables(out: Path, tables: dict[str, pd.DataFrame], files: ReportFiles) -> None:
    for name, df in tables.items():
        write_csv(df, out / f"{name}.csv")
        df.to_parquet(out / f"{name}.parquet", index=False)
        files.tables[name] = out / f"{name}.csv"


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
        "font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "th{background:#f3f3f3}img{max-width:100%;display:block;margin:1em 0}li{margin:.3em 0}")


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<section><h2>{html.escape(h)}</h2>{content}</section>" for h, content in sections)
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def write_analysis(streams: RewardStreams, analysis: StreamAnalysis, out_dir: str | Path, *,
                   title: str = "LP reward streams", on_progress: Callable[[int, int], None] | None = None
                   ) -> ReportFiles:
    """Write tables, figures, ``report.md`` and ``report.html`` for one analysis."""
    from runlab.rewards import _figures as figs

    out = Path(out_dir).expanduser().resolve()
    (out / "figures").mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir=out)
    problems = pd.DataFrame([p.__dict__ for p in analysis.problems],
                            columns=["kind", "group", "task", "seed", "count", "message"])
    variance = pd.DataFrame([analysis.variance])
    _tables(out, {"per_stream": analysis.per_stream, "per_task": analysis.per_task, "variance": variance,
                  "variance_by_group": analysis.variance_by_group, "problems": problems}, files)
    makers = [("reward_streams", "Reward per sample, by seed", lambda: figs.plot_reward_streams(streams, analysis.noise_window)),
              ("slope_noise_bands", "Slope and noise bands", lambda: figs.plot_slope_noise_bands(analysis)),
              ("noise_per_task", "Noise distribution per task", lambda: figs.plot_noise_distribution(analysis)),
              ("variance", "Seed vs task variance", lambda: figs.plot_variance(analysis))]
    images: list[tuple[str, bytes]] = []
    for i, (name, label, make) in enumerate(makers):
        path = out / "figures" / f"{name}.png"
        images.append((label, _save(make(), path)))
        files.figures[name] = path
        if on_progress is not None:
            on_progress(i + 1, len(makers))
    shown = _shown_columns(analysis)
    md = [f"# {_md(title)}", "", f"{len(analysis.per_stream)} stream(s), {int(analysis.per_stream['samples'].sum())} "
          f"samples; slope window {analysis.slope_window}, noise window {analysis.noise_window}.", "",
          "## Recommendations", "", *[f"- {_md(r)}" for r in analysis.recommendations], "",
          "## Per task (mean over seeds)", "", _md_table(analysis.per_task[shown]), "",
          "## Seed vs task variance", "", _md_table(variance), "", _md_table(analysis.variance_by_group), "",
          "## Problems in the input", "", *([f"- {_md(m)}" for m in problems["message"]] or ["none"]), "",
          "## Figures", "", *[f"![{label}](figures/{name}.png)" for (name, label, _) in makers], ""]
    files.markdown = out / "report.md"
    files.markdown.write_text("\n".join(md))
    recs = "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in analysis.recommendations) + "</ul>"
    probs = "<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in problems["message"]) + "</ul>" \
        if len(problems) else "<p>none</p>"
    sections = [("Recommendations", recs), ("Per task (mean over seeds)", _html_table(analysis.per_task[shown])),
                ("Seed vs task variance", _html_table(variance) + _html_table(analysis.variance_by_group)),
                ("Per stream", _html_table(analysis.per_stream)), ("Problems in the input", probs),
                ("Figures", "".join(_img(data, label) for label, data in images))]
    files.html = out / "report.html"
    files.html.write_text(_page(title, sections), encoding="utf-8")
    return files


def _shown_columns(a: StreamAnalysis) -> list[str]:
    keep = ["group", "task", "seeds", "samples", "mean_reward_mean", "mean_slope_mean", "mean_slope_std",
            "noise_mean", "noise_std", "noise_change_mean", "sps_corr_mean"]
    return [c for c in keep if c in a.per_task.columns]


def write_replay(results: Sequence[ReplayResult], out_dir: str | Path, *, titles: Sequence[str] | None = None
                 ) -> ReportFiles:
    """``replay.parquet`` (long probabilities, one ``replay`` column per result), ``summary.json``,
    ``per_update.csv`` and ``figures/replay.png`` (the replays side by side)."""
    from runlab.rewards._figures import plot_replay

    out = Path(out_dir).expanduser().resolve()
    (out / "figures").mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir=out)
    names = list(titles) if titles else [repr(r.scorer) for r in results]
    long = pd.concat([r.probabilities.assign(replay=n) for r, n in zip(results, names, strict=True)], ignore_index=True)
    long.to_parquet(out / "replay.parquet", index=False)
    files.tables["replay"] = out / "replay.parquet"
    per_update = pd.concat([r.per_update.assign(replay=n) for r, n in zip(results, names, strict=True)], ignore_index=True)
    write_csv(per_update, out / "per_update.csv")
    files.tables["per_update"] = out / "per_update.csv"
    summary = [{"replay": n, "preset": r.scorer.preset, "settings": _jsonable(r.scorer.settings), **r.summary}
               for r, n in zip(results, names, strict=True)]
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False) + "\n")
    files.tables["summary"] = out / "summary.json"
    path = out / "figures" / "replay.png"
    _save(plot_replay(results, names), path)
    files.figures["replay"] = path
    return files


def _jsonable(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if not callable(v) else getattr(v, "__name__", "function")) for k, v in settings.items()}
