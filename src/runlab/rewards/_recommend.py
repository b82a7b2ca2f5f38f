"""Recommendations for LP settings, each sentence computed from the analysis numbers.

EMA timescale rule: an EMA with weight ``alpha`` (timescale ``n = 1 / alpha`` samples) on a stream
with per-sample noise ``sigma`` keeps a steady-state noise of ``sigma * sqrt(alpha / (2 - alpha))``
(about ``sigma / sqrt(2 n)``). It can only detect a trend of ``|slope|`` per sample once the trend
over its own timescale, ``|slope| * n``, exceeds that noise: ``n >= (sigma / (|slope| sqrt 2))^(2/3)``.
That ``n`` is the shortest useful fast-EMA timescale for the task (``ema_alpha <= 1 / n``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from runlab.rewards._analyze import StreamAnalysis


def min_timescale(noise: float, slope: float) -> float:
    """Shortest EMA timescale (samples) whose noise falls below the trend it must detect."""
    if not (math.isfinite(noise) and math.isfinite(slope)) or slope == 0:
        return math.inf
    return max(1.0, (noise / (abs(slope) * math.sqrt(2))) ** (2 / 3))


def _label(group: str, task: str) -> str:
    return f"{task!r}" + (f" ({group})" if group else "")


def recommend(a: StreamAnalysis) -> list[str]:
    """Sentences about noise, EMA timescales, variance and SPS, in that order."""
    out: list[str] = []
    t = a.per_task.dropna(subset=["noise_mean"])
    if len(t) >= 2:
        hi, lo = t.loc[t["noise_mean"].idxmax()], t.loc[t["noise_mean"].idxmin()]
        if lo["noise_mean"] > 0:
            ratio = hi["noise_mean"] / lo["noise_mean"]
            scale_hi = min_timescale(hi["noise_mean"], hi["mean_slope_mean"])
            out.append(
                f"task {_label(hi['group'], hi['task'])} is {ratio:.1f}x as noisy as task "
                f"{_label(lo['group'], lo['task'])} (rolling std {hi['noise_mean']:.3g} vs "
                f"{lo['noise_mean']:.3g} over {a.noise_window} samples): at an equal trend its EMA timescale "
                f"should be at least {ratio ** (2 / 3):.1f}x as long (timescale grows as noise^(2/3))"
                + (f"; its own trend asks for >= {scale_hi:.0f} samples (ema_alpha <= {1 / scale_hi:.3g})"
                   if math.isfinite(scale_hi) else "") + ".")
    scales = [(min_timescale(r.noise_mean, r.mean_slope_mean), _label(r.group, r.task)) for r in t.itertuples(index=False)]
    scales = sorted((n, name) for n, name in scales if math.isfinite(n))
    if scales:
        n, name = scales[-1]
        listed = ", ".join(f"{lab} {v:.0f}" for v, lab in reversed(scales[-5:]))
        out.append(f"shortest useful fast-EMA timescale (samples; trend vs noise) per task: {listed}"
                   + (" ..." if len(scales) > 5 else "") + f"; one setting for all tasks needs >= {n:.0f} samples "
                   f"(ema_alpha <= {1 / n:.3g}), set by task {name}.")
    shrink = t[t["noise_change_mean"] < -0.25]
    for row in shrink.itertuples(index=False):
        out.append(f"noise of task {_label(row.group, row.task)} falls by {-row.noise_change_mean:.0%} from the "
                   "first to the last third of its samples: an EMA tuned to early noise over-smooths later; "
                   "consider annealed smoothing (an amplification schedule).")
    out.extend(_variance_sentences(a))
    sps = a.per_task.dropna(subset=["sps_corr_mean"])
    sps = sps[np.abs(sps["sps_corr_mean"]) >= 0.3].sort_values("sps_corr_mean", key=np.abs, ascending=False)
    if len(sps):
        listed = ", ".join(f"{_label(r.group, r.task)} (r = {r.sps_corr_mean:.2f})" for r in sps.head(4).itertuples())
        out.append(f"reward correlates with SPS for {len(sps)} task(s): {listed}" + (" ..." if len(sps) > 4 else "")
                   + ": SPS and reward move together here, so SPS-aware gating must not mistake a slow "
                   "environment for a hard one.")
    short = [p for p in a.problems if p.kind == "short"]
    if short:
        out.append(f"{len(short)} stream(s) are shorter than a window (first: {short[0].message}); "
                   "collect more samples before trusting their rate or noise.")
    return out


def _variance_sentences(a: StreamAnalysis) -> list[str]:
    v = a.variance
    if not math.isfinite(v.get("ratio", math.nan)):
        return [f"seed vs task variance is not available: {v.get('reason') or 'too little data'}."]
    icc = v.get("icc", math.nan)
    icc_text = (f"; tasks explain {icc:.0%} of the variance of seed means (ICC, 95% CI "
                f"{v['icc_low']:.2f}-{v['icc_high']:.2f})") if math.isfinite(icc) else ""
    if v["ratio"] > 1:
        return [f"seeds differ more than tasks (variance ratio {v['ratio']:.2f}){icc_text}: per-task LP signals "
                "are dominated by seed luck; use longer EMAs or pool statistics across seeds."]
    return [f"tasks dominate the variance (variance ratio {v['ratio']:.2f}){icc_text}: per-task EMAs separate "
            "tasks reliably."]
