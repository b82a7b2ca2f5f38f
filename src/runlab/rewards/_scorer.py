"""``LPScorer``: the settings of a learning-progress scorer, by preset, validated up front.

Two presets, each a faithful re-statement of a published scorer (formulas in
:mod:`runlab.rewards._lp`):

- ``syllabus``: syllabus-rl 0.7 ``OnlineLearningProgress`` (``ema_alpha, p_theta, uniform_prob,
  update_interval``). Its update counts a success as ``floor(max(progress, 0))``, so feed it 0/1
  successes or rewards scaled to [0, 1] (``input="success"`` / ``"scaled"``) unless raw parity is the point.
- ``metta``: Metta's ``LearningProgressAlgorithm`` (per-episode updates, ``ema_timescale``,
  ``slow_timescale_factor``, ``exploration_bonus``, ``progress_smoothing``, ``lp_gain``, plus the
  normalisation knobs ``z_score_amplification`` / ``lp_score_temperature``, the uniform share
  ``rand_task_rate``, and an active pool ``num_active_tasks`` with eviction at
  ``eviction_percentile`` after ``min_presentations``).

Variants from the LP experiment matrix, valid for both presets:

- ``amplification_schedule``: ``"constant"`` (default), ``"linear"`` or ``"cosine"`` from
  ``amplification_start`` to ``amplification_end`` over the replay, or ``"dual"`` (``start`` for the
  first ``anneal_fraction`` of updates, ``end`` after): multiplies the z-scores before the sigmoid.
- ``input``: what the scorer sees per episode: ``"reward"`` (raw), ``"scaled"`` (min-max scaled to
  [0, 1] over the stream), ``"success"`` (``reward >= success_threshold``), ``"advantage"``
  (GAE-style: the reward minus the task's own EMA baseline before the episode, with weight
  ``advantage_alpha``, then min-max scaled), or a callable ``episodes -> array``.
- ``sps_gate``: exponent ``g`` of SPS-aware gating: scores are multiplied by
  ``(task_sps / median_sps) ** g`` (the task's mean SPS so far) before normalisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from runlab.errors import InputError

PRESETS: dict[str, dict[str, Any]] = {
    "syllabus": {"ema_alpha": 0.1, "p_theta": 0.1, "uniform_prob": 0.25, "update_interval": 10},
    "metta": {"ema_timescale": 0.1, "slow_timescale_factor": 0.2, "exploration_bonus": 0.1,
              "progress_smoothing": 0.05, "lp_gain": 0.1, "z_score_amplification": 1.0,
              "lp_score_temperature": 0.0, "rand_task_rate": 0.25, "update_interval": 1,
              "num_active_tasks": 0, "eviction_percentile": 0.4, "min_presentations": 5},
}
COMMON: dict[str, Any] = {
    "input": "reward", "success_threshold": 1.0, "advantage_alpha": 0.1,
    "amplification_schedule": "constant", "amplification_start": 1.0, "amplification_end": 1.0,
    "anneal_fraction": 0.5, "sps_gate": 0.0,
}
_UNIT = ("ema_alpha", "uniform_prob", "ema_timescale", "slow_timescale_factor", "rand_task_rate",
         "advantage_alpha", "anneal_fraction", "eviction_percentile")
_NONNEG = ("p_theta", "exploration_bonus", "progress_smoothing", "lp_gain", "z_score_amplification",
           "lp_score_temperature", "amplification_start", "amplification_end", "sps_gate")
SCHEDULES = ("constant", "linear", "cosine", "dual")
INPUTS = ("reward", "scaled", "success", "advantage")


class LPScorer:
    """Settings of one LP scorer: ``LPScorer(preset="syllabus", ema_alpha=0.05)``.

    Unknown settings, values out of range and wrong types raise :class:`InputError` naming the
    setting. ``settings`` holds the full, merged mapping; ``with_settings(**kw)`` returns a copy.
    """

    def __init__(self, preset: str = "syllabus", **settings: Any) -> None:
        if preset not in PRESETS:
            raise InputError(f"unknown LP preset {preset!r}", hint=f"choose one of {sorted(PRESETS)}")
        allowed = {**PRESETS[preset], **COMMON}
        unknown = sorted(set(settings) - set(allowed))
        if unknown:
            raise InputError(f"unknown setting(s) {unknown} for preset {preset!r}",
                             hint=f"settings of {preset!r}: {sorted(allowed)}")
        self.preset = preset
        self.settings: dict[str, Any] = {**allowed, **{k: _coerce(k, v, allowed[k]) for k, v in settings.items()}}
        _validate(self.settings)

    def with_settings(self, **settings: Any) -> LPScorer:
        """A copy with some settings changed."""
        return LPScorer(self.preset, **{**self.overrides(), **settings})

    def overrides(self) -> dict[str, Any]:
        base = {**PRESETS[self.preset], **COMMON}
        return {k: v for k, v in self.settings.items() if base.get(k) != v}

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.overrides().items())
        return f"LPScorer(preset={self.preset!r}{', ' + extra if extra else ''})"

    @classmethod
    def from_overrides(cls, preset: str, overrides: Mapping[str, Any] | list[str]) -> LPScorer:
        """From ``{"ema_alpha": 0.05}`` or CLI ``["ema_alpha=0.05", ...]`` (values parsed as YAML scalars)."""
        if isinstance(overrides, list):
            parsed: dict[str, Any] = {}
            for item in overrides:
                if "=" not in item:
                    raise InputError(f"--set {item!r} must look like key=value", hint="e.g. --set ema_alpha=0.05")
                k, v = item.split("=", 1)
                parsed[k.strip()] = _parse_scalar(v.strip())
            overrides = parsed
        return cls(preset, **dict(overrides))


def _parse_scalar(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _coerce(key: str, value: Any, default: Any) -> Any:
    if callable(value) and key == "input":
        return value
    if isinstance(default, bool | str):
        if not isinstance(value, str):
            raise InputError(f"setting {key} must be text, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"setting {key} must be a number, got {value!r}")
    if isinstance(default, int):
        if float(value) != int(value):
            raise InputError(f"setting {key} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def _validate(s: dict[str, Any]) -> None:
    for key in _UNIT:
        if (key in s and not (0 <= s[key] <= 1)) or (key in ("ema_alpha", "ema_timescale") and key in s and s[key] == 0):
            raise InputError(f"setting {key} must be in (0, 1] (in [0, 1] for shares), got {s[key]!r}")
    for key in _NONNEG:
        if key in s and not (math.isfinite(s[key]) and s[key] >= 0):
            raise InputError(f"setting {key} must be a finite number >= 0, got {s[key]!r}")
    if s["update_interval"] < 1:
        raise InputError(f"setting update_interval must be >= 1, got {s['update_interval']!r}")
    if s["amplification_schedule"] not in SCHEDULES:
        raise InputError(f"setting amplification_schedule must be one of {SCHEDULES}, "
                         f"got {s['amplification_schedule']!r}")
    if not callable(s["input"]) and s["input"] not in INPUTS:
        raise InputError(f"setting input must be one of {INPUTS} or a function, got {s['input']!r}")
    for key in ("num_active_tasks", "min_presentations"):
        if key in s and s[key] < 0:
            raise InputError(f"setting {key} must be >= 0, got {s[key]!r}")


InputFn = Callable[[Any], Any]
