"""LaTeX tables (booktabs) of estimates with CIs and of significance tests.

Every piece of text (method, task and metric names are data) goes through :func:`latex_escape`, so
a name such as ``a_b {x} \\input{/etc/passwd}`` prints literally instead of running.
"""

from __future__ import annotations

import math

import pandas as pd

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def latex_escape(text: object) -> str:
    """Text safe inside a LaTeX document: specials escaped, line breaks and control chars as spaces."""
    s = "".join(c if c.isprintable() else " " for c in str(text))
    return "".join(_SPECIAL.get(c, c) for c in s)


def _num(x: float, digits: int) -> str:
    if not math.isfinite(x):
        return "--"
    return f"{x:.{digits}f}"


def estimates_latex(
    estimates: pd.DataFrame, *, caption: str = "", label: str = "tab:estimates", digits: int = 3
) -> str:
    """Methods as rows, aggregates as columns, cells ``point [lower, upper]``."""
    aggs = list(dict.fromkeys(estimates["aggregate"]))
    methods = list(dict.fromkeys(estimates["method"]))
    cell = estimates.set_index(["method", "aggregate"])
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{l" + "c" * len(aggs) + "}",
        r"\toprule",
        "Method & " + " & ".join(latex_escape(a) for a in aggs) + r" \\",
        r"\midrule",
    ]
    for m in methods:
        cells = []
        for a in aggs:
            if (m, a) not in cell.index:
                cells.append("--")
                continue
            r = cell.loc[(m, a)]
            cells.append(f"{_num(r['estimate'], digits)} [{_num(r['lower'], digits)}, {_num(r['upper'], digits)}]")
        lines.append(latex_escape(m) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    lines += [r"\label{" + latex_escape(label) + "}", r"\end{table}", ""]
    return "\n".join(lines)


def tests_latex(tests: pd.DataFrame, *, caption: str = "", label: str = "tab:tests", digits: int = 3) -> str:
    """One row per (pair, test): statistic, p-value and corrected p-value."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{llrrrc}",
        r"\toprule",
        r"Comparison & Test & Statistic & $p$ & $p_{\mathrm{adj}}$ & Reject \\",
        r"\midrule",
    ]
    for r in tests.itertuples(index=False):
        pair = f"{latex_escape(r.method_x)} vs {latex_escape(r.method_y)}"
        lines.append(
            f"{pair} & {latex_escape(r.test)} & {_num(r.statistic, digits)} & {_num(r.p_value, 4)} & "
            f"{_num(r.p_adjusted, 4)} & {'yes' if r.reject else 'no'}" + r" \\"
        )
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    lines += [r"\label{" + latex_escape(label) + "}", r"\end{table}", ""]
    return "\n".join(lines)
