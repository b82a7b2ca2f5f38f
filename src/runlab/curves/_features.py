"""Config -> feature vectors, and reward curves -> the model's scale; both fit on training runs only.

:class:`FeatureSpec` names the environment and agent features by dotted paths with globs.
:class:`FeatureEncoder` learns, from the training configs alone, which paths exist, which are
numeric (standardised, log scale for rate-like values) or categorical (one-hot), and which need a
missing-value indicator. :class:`TargetScaler` learns the per-point centre and spread of the
training curves (optionally after a per-group reward scale). Neither ever sees held-out runs: the
fitted statistics are exactly those of the rows passed to ``fit``.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runlab.configpath import config_value, flatten, key_paths, match_paths
from runlab.errors import InputError

DEFAULT_ENV_FEATURES: tuple[str, ...] = (
    "env.game.max_steps", "env.game.num_agents", "env.game.map_width", "env.game.map_height",
    "env.game.width", "env.game.height", "env.game.num_rooms", "env.game.objects.*.count",
    "env.game.num_altars", "env.game.num_mines", "env.game.num_generators", "env.game.num_walls",
    "env.physics.*",
)
DEFAULT_AGENT_FEATURES: tuple[str, ...] = (
    "trainer.optimizer.learning_rate", "trainer.learning_rate", "trainer.batch_size",
    "trainer.minibatch_size", "trainer.gamma", "trainer.gae_lambda", "trainer.clip_coef",
    "trainer.ent_coef", "trainer.vf_coef", "trainer.hidden_size", "trainer.num_layers",
    "agent.hidden_size", "agent.num_layers", "agent.cnn_channels", "agent.kernel_size",
)
#: Paths treated as rates (log scale) by name.
DEFAULT_LOG_FEATURES: tuple[str, ...] = ("*learning_rate*", "*.lr", "*ent_coef*")
#: A positive numeric feature spanning at least this max/min ratio is put on a log scale.
AUTO_LOG_RATIO = 50.0
MISSING = "<missing>"


@dataclass(frozen=True, kw_only=True)
class FeatureSpec:
    """Which config paths feed the environment VAE and the agent VAE."""

    env: tuple[str, ...] = DEFAULT_ENV_FEATURES
    """Environment feature paths (globs allowed)."""
    agent: tuple[str, ...] = DEFAULT_AGENT_FEATURES
    """Agent feature paths (globs allowed)."""
    log: tuple[str, ...] = DEFAULT_LOG_FEATURES
    """Paths put on a log scale (globs); positive features spanning 50x are too."""
    strict: tuple[str, ...] = ()
    """Groups (``"env"``, ``"agent"``) whose every path must match some training config: set for
    paths a user named, so a typo is an error; default paths that do not apply are only listed."""

    @classmethod
    def of(cls, env: Sequence[str] | None = None, agent: Sequence[str] | None = None,
           log: Sequence[str] | None = None) -> FeatureSpec:
        """User-given paths (strict) where given, the defaults elsewhere."""
        return cls(env=tuple(env) if env else DEFAULT_ENV_FEATURES,
                   agent=tuple(agent) if agent else DEFAULT_AGENT_FEATURES,
                   log=tuple(log) if log else DEFAULT_LOG_FEATURES,
                   strict=tuple(g for g, v in (("env", env), ("agent", agent)) if v))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"env": list(self.env), "agent": list(self.agent), "log": list(self.log), "strict": list(self.strict)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(env=tuple(data["env"]), agent=tuple(data["agent"]), log=tuple(data["log"]),
                   strict=tuple(data.get("strict", ())))


@dataclass
class _Column:
    """One config path's encoding, learned from the training configs."""

    path: str
    kind: str  # "numeric" | "categorical"
    log: bool = False
    center: float = 0.0
    scale: float = 1.0
    low: float = math.nan
    high: float = math.nan
    has_missing: bool = False
    categories: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        if self.kind == "categorical":
            return len(self.categories)
        return 1 + int(self.has_missing)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _category(v: Any) -> str:
    if v is None:
        return MISSING
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)


def _fit_column(path: str, values: list[Any], log_patterns: Sequence[str]) -> _Column:
    present = [v for v in values if v is not None]
    if present and all(_is_number(v) and math.isfinite(float(v)) for v in present):
        x = np.asarray(present, dtype=float)
        named_log = any(fnmatch.fnmatchcase(path, p) for p in log_patterns)
        log = bool(x.min() > 0 and (named_log or x.max() / x.min() >= AUTO_LOG_RATIO))
        t = np.log(x) if log else x
        sd = float(t.std())
        return _Column(path, "numeric", log=log, center=float(t.mean()), scale=sd if sd > 1e-12 else 1.0,
                       low=float(x.min()), high=float(x.max()), has_missing=len(present) < len(values))
    cats = sorted({_category(v) for v in values})
    return _Column(path, "categorical", categories=cats)


class FeatureEncoder:
    """Learned encoding of configs into environment and agent feature matrices.

    Fit with :meth:`fit` on training configs; :meth:`transform` encodes any configs with those
    statistics and returns, per config, the flags (missing values, values outside the training
    range, unseen categories) a user should know about.
    """

    def __init__(self, spec: FeatureSpec, env_columns: list[_Column], agent_columns: list[_Column],
                 unmatched: list[str]) -> None:
        self.spec = spec
        self.env_columns = env_columns
        self.agent_columns = agent_columns
        self.unmatched = unmatched
        """Spec paths that matched no training config (defaults that do not apply here)."""

    @property
    def env_dim(self) -> int:
        return sum(c.width for c in self.env_columns)

    @property
    def agent_dim(self) -> int:
        return sum(c.width for c in self.agent_columns)

    @property
    def paths(self) -> list[str]:
        """Every encoded config path (environment first)."""
        return [c.path for c in self.env_columns + self.agent_columns]

    @classmethod
    def fit(cls, configs: Sequence[Mapping[str, Any]], spec: FeatureSpec | None = None) -> FeatureEncoder:
        """Learn the encoding from ``configs`` (the training runs only)."""
        spec = spec or FeatureSpec()
        if not configs:
            raise InputError("cannot fit features on zero configs")
        unmatched: list[str] = []
        groups = []
        for name, group, patterns in (("environment", "env", spec.env), ("agent", "agent", spec.agent)):
            paths = _resolve(configs, patterns, group in spec.strict, unmatched)
            if not paths:
                raise InputError(f"no {name} feature path matches the training configs (tried "
                                 f"{', '.join(patterns)})",
                                 hint=f"name {name} features by dotted path, e.g. --{group}-features "
                                 f"'{_example(configs)}'")
            groups.append([_fit_column(p, [config_value(c, p) for c in configs], spec.log) for p in paths])
        return cls(spec, groups[0], groups[1], unmatched)

    def transform(self, configs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """``(env_x (N, env_dim), agent_x (N, agent_dim), flags per config)`` as float32."""
        flags: list[list[str]] = [[] for _ in configs]
        mats = []
        for columns in (self.env_columns, self.agent_columns):
            blocks = [_encode(col, [config_value(c, col.path) for c in configs], flags) for col in columns]
            mats.append(np.concatenate(blocks, axis=1).astype(np.float32))
        return mats[0], mats[1], flags

    def check_paths(self, keys: Sequence[str]) -> None:
        """Raise naming the first of ``keys`` (dotted paths) that is no feature of this encoder."""
        known = self.paths
        for key in keys:
            if key not in known:
                near = difflib.get_close_matches(key, known, n=3)
                raise InputError(f"{key!r} is not a feature of this model",
                                 hint=f"did you mean: {', '.join(near)}" if near else
                                 f"its features: {', '.join(known)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for model directories)."""
        return {"spec": self.spec.to_dict(), "unmatched": self.unmatched,
                "env": [vars(c) for c in self.env_columns], "agent": [vars(c) for c in self.agent_columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        """Inverse of :meth:`to_dict`."""
        return cls(FeatureSpec.from_dict(data["spec"]), [_Column(**c) for c in data["env"]],
                   [_Column(**c) for c in data["agent"]], list(data["unmatched"]))


def _resolve(configs: Sequence[Mapping[str, Any]], patterns: Sequence[str], strict: bool,
             unmatched: list[str]) -> list[str]:
    """Concrete leaf paths for ``patterns`` across all configs, first-seen order."""
    out: list[str] = []
    for pat in patterns:
        hits: list[str] = []
        for c in configs:
            hits.extend(h for h in match_paths(dict(c), [pat]) if h not in hits)
        if not hits:
            if strict:
                paths = sorted({p for c in configs for p in key_paths(dict(c))})
                near = difflib.get_close_matches(pat, paths, n=3)
                raise InputError(f"feature path {pat!r} matches no training config",
                                 hint=f"did you mean: {', '.join(near)}" if near else
                                 "list config paths with `runlab export runs`")
            unmatched.append(pat)
        out.extend(h for h in hits if h not in out)
    return out


def _example(configs: Sequence[Mapping[str, Any]]) -> str:
    leaves = list(flatten(dict(configs[0])))
    return leaves[0] if leaves else "env.id"


def _encode(col: _Column, values: list[Any], flags: list[list[str]]) -> np.ndarray:
    n = len(values)
    if col.kind == "categorical":
        out = np.zeros((n, len(col.categories)))
        for i, v in enumerate(values):
            cat = _category(v)
            if cat in col.categories:
                out[i, col.categories.index(cat)] = 1.0
            else:
                flags[i].append(f"{col.path}: {cat!r} was not seen in training")
        return out
    out = np.zeros((n, col.width))
    for i, v in enumerate(values):
        if v is None:
            flags[i].append(f"{col.path}: missing (filled with the training mean)")
            if col.has_missing:
                out[i, 1] = 1.0
            continue
        if not _is_number(v) or not math.isfinite(float(v)):
            raise InputError(f"{col.path}: expected a finite number, got {v!r}")
        x = float(v)
        if col.log and x <= 0:  # log-scale feature: clip to the smallest training value, and say so
            flags[i].append(f"{col.path}: {x:g} is not positive (log scale); used the training minimum {col.low:g}")
            x = col.low
        if not col.low - 1e-9 * abs(col.low) <= x <= col.high + 1e-9 * abs(col.high):
            flags[i].append(f"{col.path}: {x:g} is outside the training range [{col.low:g}, {col.high:g}]")
        out[i, 0] = ((math.log(x) if col.log else x) - col.center) / col.scale
    return out


class TargetScaler:
    """Standardises curves per grid point with training statistics (optionally per-group first).

    With ``group_path`` (e.g. ``env.id``), each group's rewards are first divided into a common
    scale by the group's training mean and spread; a group absent from training falls back to
    the pooled training scale, and :meth:`group_known` says so.
    """

    def __init__(self, group_path: str | None = None) -> None:
        self.group_path = group_path
        self.point_mean_: np.ndarray | None = None
        self.point_std_: np.ndarray | None = None
        self.groups_: dict[str, tuple[float, float]] = {}
        self.pooled_: tuple[float, float] = (0.0, 1.0)

    def _keys(self, configs: Sequence[Mapping[str, Any]]) -> list[str | None]:
        if self.group_path is None:
            return [None] * len(configs)
        return [_category(config_value(c, self.group_path)) for c in configs]

    def fit(self, curves: np.ndarray, configs: Sequence[Mapping[str, Any]]) -> TargetScaler:
        """Learn from the training curves ``(N, L)`` and their configs only."""
        y = np.asarray(curves, dtype=float)
        self.pooled_ = (float(y.mean()), float(y.std()) or 1.0)
        keys = self._keys(configs)
        if self.group_path is not None:
            for k in sorted({k for k in keys if k is not None}):
                g = y[[i for i, kk in enumerate(keys) if kk == k]]
                self.groups_[k] = (float(g.mean()), float(g.std()) or self.pooled_[1])
        z = self._group_forward(y, keys)
        sd = z.std(axis=0)
        self.point_mean_ = z.mean(axis=0)
        self.point_std_ = np.maximum(sd, 0.05 * float(sd.mean()) + 1e-8)
        return self

    def group_affine(self, configs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Per-config ``(centre, scale)`` of the group step (pooled for unknown groups), shape ``(N, 1)``."""
        keys = self._keys(configs)
        if self.group_path is None:
            return np.zeros((len(keys), 1)), np.ones((len(keys), 1))
        pairs = [self.groups_.get(k, self.pooled_) if k is not None else self.pooled_ for k in keys]
        a = np.asarray(pairs, dtype=float).reshape(len(keys), 2)
        return a[:, :1], a[:, 1:]

    def group_known(self, configs: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Whether each config's group had training runs."""
        return [self.group_path is None or k in self.groups_ for k in self._keys(configs)]

    def _group_forward(self, y: np.ndarray, keys: list[str | None]) -> np.ndarray:
        if self.group_path is None:
            return y
        a = np.asarray([self.groups_.get(k, self.pooled_) for k in keys], dtype=float).reshape(len(keys), 2)
        return (y - a[:, :1]) / a[:, 1:]

    def transform(self, curves: np.ndarray, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Raw curves -> model scale."""
        assert self.point_mean_ is not None and self.point_std_ is not None, "fit first"
        z = self._group_forward(np.asarray(curves, dtype=float), self._keys(configs))
        return (z - self.point_mean_) / self.point_std_

    def inverse(self, mean: np.ndarray, std: np.ndarray, configs: Sequence[Mapping[str, Any]]
                ) -> tuple[np.ndarray, np.ndarray]:
        """Model-scale mean and std -> raw reward units."""
        assert self.point_mean_ is not None and self.point_std_ is not None, "fit first"
        c, s = self.group_affine(configs)
        m = (mean * self.point_std_ + self.point_mean_) * s + c
        return m, std * self.point_std_ * s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        assert self.point_mean_ is not None and self.point_std_ is not None, "fit first"
        return {"group_path": self.group_path, "point_mean": self.point_mean_.tolist(),
                "point_std": self.point_std_.tolist(), "groups": {k: list(v) for k, v in self.groups_.items()},
                "pooled": list(self.pooled_)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetScaler:
        """Inverse of :meth:`to_dict`."""
        out = cls(data["group_path"])
        out.point_mean_ = np.asarray(data["point_mean"], dtype=float)
        out.point_std_ = np.asarray(data["point_std"], dtype=float)
        out.groups_ = {k: (float(v[0]), float(v[1])) for k, v in data["groups"].items()}
        out.pooled_ = (float(data["pooled"][0]), float(data["pooled"][1]))
        return out
