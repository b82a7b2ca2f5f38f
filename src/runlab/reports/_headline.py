"""What a reader needs first: who wins, by how much, how sure, and what to be careful about.

The headline is computed from the comparison itself (no wording is fixed in advance): the best
method per aggregate with its CI next to the runner-up's, the probability of improvement over the
runner-up, whether the corrected tests reject, and the caveats (few runs, single-run methods, left
out data). The summary table has one row per method with ``0.61 [0.49, 0.75]`` cells at three
significant digits; the full-precision tables stay below it and in the CSV files.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from runlab.compare import CompareResult

_LOWER_IS_BETTER = {"Optimality Gap"}


def title_of(name: str) -> str:
    """A comparison's display title: a metric name as is, a metric regex as its readable pattern
    (``eval_(?P<suite>[^/]+)/(?P<task>.+)`` -> ``eval_<suite>/<task>``)."""
    if "(?P<" not in name:
        return name
    out = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", r"<\1>", name)
    out = re.sub(r"\\(.)", r"\1", out)
    return out.strip("^$")


def sig3(value: float) -> str:
    """Three significant digits (``0.613``, ``12.3``, ``1.23e+04``); NaN as an empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.3g}"


def cell(estimate: float, lower: float, upper: float) -> str:
    """``0.613 [0.49, 0.751]``; without an interval, the estimate and why."""
    if any(isinstance(v, float) and math.isnan(v) for v in (lower, upper)):
        return f"{sig3(estimate)} [no CI: 1 run]"
    return f"{sig3(estimate)} [{sig3(lower)}, {sig3(upper)}]"


def summary_table(res: CompareResult) -> pd.DataFrame:
    """One row per method, one ``estimate [lower, upper]`` column per aggregate, plus runs x tasks."""
    aggs = list(dict.fromkeys(res.estimates["aggregate"]))
    rows = []
    for method, part in res.estimates.groupby("method", sort=False):
        by = part.set_index("aggregate")
        row = {"method": method}
        for a in aggs:
            r = by.loc[a]
            row[a] = cell(float(r["estimate"]), float(r["lower"]), float(r["upper"]))
        row["runs x tasks"] = f"{int(part['n_runs'].iloc[0])} x {int(part['n_tasks'].iloc[0])}"
        rows.append(row)
    return pd.DataFrame(rows, columns=["method", *aggs, "runs x tasks"])


def headline(res: CompareResult) -> list[str]:
    """Sentences about the comparison, computed from its numbers."""
    est = res.estimates
    if est.empty:
        return []
    out = []
    for agg, part in est.groupby("aggregate", sort=False):
        ranked = part.sort_values("estimate", ascending=agg in _LOWER_IS_BETTER, kind="stable")
        best = ranked.iloc[0]
        if len(ranked) == 1:
            out.append(f"{agg}: {best['method']} {cell(best['estimate'], best['lower'], best['upper'])}.")
            continue
        second = ranked.iloc[1]
        lead = abs(float(best["estimate"]) - float(second["estimate"]))
        separated = _separated(best, second)
        out.append(
            f"{agg}: {best['method']} is best with {cell(best['estimate'], best['lower'], best['upper'])}, "
            f"ahead of {second['method']} ({cell(second['estimate'], second['lower'], second['upper'])}) by "
            f"{sig3(lead)}; the intervals {'do not overlap' if separated else 'overlap'}."
        )
    out += _improvement_lines(res, est)
    out += _test_lines(res)
    out += [f"Caution: {n}" for n in res.notes if "run(s) per task" in n or "single run" in n]
    return out


def _separated(a: pd.Series, b: pd.Series) -> bool:
    values = [a["lower"], a["upper"], b["lower"], b["upper"]]
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        return False
    return bool(a["lower"] > b["upper"] or b["lower"] > a["upper"])


def _improvement_lines(res: CompareResult, est: pd.DataFrame) -> list[str]:
    """P(best > runner-up) on the first aggregate's ranking (IQM when reported)."""
    aggs = list(dict.fromkeys(est["aggregate"]))
    key = "IQM" if "IQM" in aggs else aggs[0]
    ranked = est[est["aggregate"] == key].sort_values("estimate", ascending=key in _LOWER_IS_BETTER)
    if len(ranked) < 2 or res.improvement.empty:
        return []
    a, b = str(ranked.iloc[0]["method"]), str(ranked.iloc[1]["method"])
    imp = res.improvement
    row = imp[(imp["method_x"] == a) & (imp["method_y"] == b)]
    flip = row.empty
    if flip:
        row = imp[(imp["method_x"] == b) & (imp["method_y"] == a)]
    if row.empty:
        return []
    r = row.iloc[0]
    p, lo, hi = float(r["probability"]), float(r["lower"]), float(r["upper"])
    if flip:
        p, lo, hi = 1 - p, 1 - hi, 1 - lo
    return [f"Probability of improvement: P({a} > {b}) = {cell(p, lo, hi)}."]


def _test_lines(res: CompareResult) -> list[str]:
    if res.tests.empty:
        return ["No significance test could be run (each method needs at least 2 runs)."]
    corr = res.settings.get("correction", "holm")
    alpha = res.settings.get("alpha", 0.05)
    lines = []
    for test, part in res.tests.groupby("test", sort=False):
        rejected = part[part["reject"].astype(bool)]
        if rejected.empty:
            lines.append(f"{test}: no pair differs at alpha={alpha:g} after {corr} correction.")
        else:
            pairs = ", ".join(f"{r.method_x} vs {r.method_y}" for r in rejected.itertuples())
            lines.append(f"{test}: {len(rejected)} of {len(part)} pair(s) differ at alpha={alpha:g} after "
                         f"{corr} correction ({pairs}).")
    return lines
