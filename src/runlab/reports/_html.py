"""One self-contained HTML report: embedded PNG figures, escaped tables, a sortable run table.

No external resource is referenced (no CDN, no fonts), so the file opens offline and can be mailed.
All text goes through :func:`html.escape`; the only script is the static sorter below, which reads
cell text and never evaluates it. ``report.html#sort=<column>`` (``-<column>`` for descending)
sorts the run table on load, which also makes the sorter testable in a headless browser.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;white-space:pre-wrap}
th{background:#f3f3f3}table.sortable th{cursor:pointer}
figure{margin:1rem 0}figure img{max-width:100%}figcaption{font-size:.85rem;color:#555}
.headline{background:#eef6ff;border-left:4px solid #0072b2;padding:.5rem 1.6rem;margin:.6rem 0}
.note{background:#fff8e1;border-left:4px solid #e69f00;padding:.4rem .8rem;margin:.4rem 0}
"""

_SORT_JS = """
(function(){
  function key(td){var t=td.textContent.trim();var n=parseFloat(t);
    return (t!==''&&!isNaN(n)&&isFinite(t))?[0,n]:[1,t.toLowerCase()];}
  function cmp(a,b){if(a[0]!==b[0])return a[0]-b[0];return a[1]<b[1]?-1:a[1]>b[1]?1:0;}
  function sortBy(table,col,desc){var body=table.tBodies[0];
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(r1,r2){var c=cmp(key(r1.cells[col]),key(r2.cells[col]));return desc?-c:c;});
    rows.forEach(function(r){body.appendChild(r);});
    table.setAttribute('data-sorted',(desc?'-':'')+table.tHead.rows[0].cells[col].getAttribute('data-key'));}
  document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener('click',function(){var d=table.getAttribute('data-sorted')===th.getAttribute('data-key');
        sortBy(table,i,d);});});
    var m=/sort=(-?)([^&]+)/.exec(decodeURIComponent(location.hash||''));
    if(m){Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      if(th.getAttribute('data-key')===m[2])sortBy(table,i,m[1]==='-');});}
  });
})();
"""


@dataclass(frozen=True)
class HtmlFigure:
    """A rendered figure: PNG bytes, a title and a caption (both plain text)."""

    png: bytes
    title: str
    caption: str = ""


@dataclass(frozen=True)
class HtmlSection:
    """A report section: heading, notes (plain text), tables and figures in order."""

    title: str
    notes: Sequence[str] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    figures: Sequence[HtmlFigure] = ()
    headline: Sequence[str] = ()
    """Sentences shown first, before the notes (the comparison's result in words)."""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list | tuple):
        return _e(", ".join(map(str, value)))
    return _e(value)


def table_html(frame: pd.DataFrame, *, sortable: bool = False, table_id: str = "") -> str:
    """An escaped HTML table; header cells carry ``data-key`` (the column name) for the sorter."""
    cls = ' class="sortable"' if sortable else ""
    ident = f' id="{_e(table_id)}"' if table_id else ""
    head = "".join(f'<th data-key="{_e(c)}">{_e(c)}</th>' for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table{ident}{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(fig: HtmlFigure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (
        f'<figure><img alt="{_e(fig.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(fig.caption or fig.title)}</figcaption></figure>"
    )


def render_html(title: str, sections: Sequence[HtmlSection], runs: pd.DataFrame) -> str:
    """The whole document: sections in order, then the sortable run table."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    for s in sections:
        parts.append(f"<section><h2>{_e(s.title)}</h2>")
        if s.headline:
            parts.append('<ul class="headline">' + "".join(f"<li>{_e(h)}</li>" for h in s.headline) + "</ul>")
        parts += [f'<p class="note">{_e(n)}</p>' for n in s.notes]
        for caption, frame in s.tables:
            parts.append(f"<h3>{_e(caption)}</h3>" + table_html(frame))
        parts += [figure_html(f) for f in s.figures]
        parts.append("</section>")
    parts.append('<section><h2>Runs</h2><p>Click a column header to sort.</p>')
    parts.append(table_html(runs, sortable=True, table_id="runs"))
    parts.append(f"</section><script>{_SORT_JS}</script></body></html>")
    return "\n".join(parts)
