"""Parameter spaces and sweep configs: parsing, validation, normalisation.

Every parameter maps to one coordinate of a normalised box ``[-1, 1]^d`` (linear, log2, pow2 or
logit scale), so the optimisers see one uniform space while suggestions come back as plain Python
values in the user's units. A leaf's ``mean`` is the search centre and ``scale`` its half-width in
normalised units (``auto`` = 0.5; ``time`` = 1 / (log2 max - log2 min)), as in the Protein paper.

The sweep config is read from a dict, a YAML path or an existing :class:`SweepConfig`; OmegaConf
interpolations are resolved against the whole document before the ``sweep:`` block is taken out, so
``${trainer.batch_size}`` style references to the surrounding job config work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from runlab.errors import InputError, NotFoundError

DISTRIBUTIONS = ("uniform", "int_uniform", "log_normal", "uniform_pow2", "logit_normal")
ACQUISITIONS = ("naive", "ei", "ucb")
METHODS = ("bayes", "random", "grid")
GOALS = ("maximize", "minimize")
#: Precision of a suggested float: far finer than any hyperparameter's effect, coarse enough that
#: suggestions print and paste as short numbers.
SIGNIFICANT_DIGITS = 6
# Keys that may sit next to the parameter tree in the programmatic ``sweep.parameters`` form.
_LIFTED_KEYS = ("metric", "goal", "method")

Goal = Literal["maximize", "minimize"]
Method = Literal["bayes", "random", "grid"]
Acquisition = Literal["naive", "ei", "ucb"]


def _finite_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"{what} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InputError(f"{what} must be finite, got {value!r}")
    return out


@dataclass(frozen=True, kw_only=True)
class NumericParam:
    """One numeric leaf of the parameter tree."""

    path: str
    """Dotted location in the nested config, e.g. ``trainer.optimizer.learning_rate``."""
    distribution: str
    """One of ``uniform``, ``int_uniform``, ``log_normal``, ``uniform_pow2``, ``logit_normal``."""
    min: float
    """Lower bound in user units (inclusive)."""
    max: float
    """Upper bound in user units (inclusive)."""
    mean: float
    """Search centre in user units; the first Protein suggestion uses it."""
    scale: float
    """Half-width of local search in normalised units (the box is [-1, 1])."""

    def _warp(self, value: np.ndarray) -> np.ndarray:
        """Map user units to the space where the distribution is uniform."""
        if self.distribution in ("log_normal", "uniform_pow2"):
            return np.log2(value)
        if self.distribution == "logit_normal":
            return np.log(value) - np.log1p(-value)
        return value

    def _unwarp(self, value: np.ndarray) -> np.ndarray:
        if self.distribution in ("log_normal", "uniform_pow2"):
            return np.exp2(value)
        if self.distribution == "logit_normal":
            return 1.0 / (1.0 + np.exp(-value))
        return value

    def normalize(self, value: Any) -> np.ndarray:
        """User units -> [-1, 1] (array in, array out)."""
        lo, hi = self._warp(np.array([self.min, self.max], dtype=float))
        return 2.0 * (self._warp(np.asarray(value, dtype=float)) - lo) / (hi - lo) - 1.0

    def unnormalize(self, z: Any) -> np.ndarray:
        """[-1, 1] -> user units, rounded for integer and pow2 distributions, clipped to bounds."""
        lo, hi = self._warp(np.array([self.min, self.max], dtype=float))
        raw = self._unwarp(lo + (np.clip(np.asarray(z, dtype=float), -1.0, 1.0) + 1.0) / 2.0 * (hi - lo))
        if self.distribution == "int_uniform":
            return np.clip(np.round(raw), math.ceil(self.min), math.floor(self.max))
        if self.distribution == "uniform_pow2":
            exponent = np.clip(np.round(np.log2(raw)), math.ceil(math.log2(self.min)),
                               math.floor(math.log2(self.max)))
            return np.exp2(exponent)
        return np.clip(raw, self.min, self.max)

    def to_python(self, value: float) -> int | float:
        """A plain Python number: ``int`` for integer distributions, else a ``float`` rounded to
        :data:`SIGNIFICANT_DIGITS` (within the bounds): the parameter's precision, which also
        drops the float noise of the warp round trip (``0.010000000000000002`` -> ``0.01``)."""
        if self.distribution in ("int_uniform", "uniform_pow2"):
            return round(float(value))
        return float(self.round(np.asarray([value], dtype=float))[0])

    def round(self, values: np.ndarray) -> np.ndarray:
        """User-unit values at the parameter's precision (floats: :data:`SIGNIFICANT_DIGITS`,
        kept within the bounds), shape kept. Integer distributions are already exact."""
        if self.distribution in ("int_uniform", "uniform_pow2"):
            return values
        flat = [float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in np.ravel(values)]
        return np.clip(np.asarray(flat, dtype=float).reshape(np.shape(values)), self.min, self.max)

    def grid(self, points: int) -> list[int | float]:
        """Up to ``points`` distinct values evenly spread in normalised space."""
        values = self.unnormalize(np.linspace(-1.0, 1.0, points))
        return list(dict.fromkeys(self.to_python(v) for v in values))

    def check_value(self, value: Any) -> float:
        """Validate an observed value (finite, in bounds) and return it as float."""
        out = _finite_number(value, f"parameter {self.path!r}")
        tol = 1e-9 * max(1.0, abs(self.max - self.min))
        if not self.min - tol <= out <= self.max + tol:
            raise InputError(
                f"parameter {self.path!r} must lie in [{self.min}, {self.max}], got {value!r}",
                hint="widen the bounds in the sweep config or drop this observation",
            )
        return min(max(out, self.min), self.max)


@dataclass(frozen=True, kw_only=True)
class CategoricalParam:
    """A leaf with ``values: [...]``: the box coordinate is cut into one bin per value."""

    path: str
    """Dotted location in the nested config."""
    values: tuple[Any, ...]
    """The choices, in the order given; plain YAML scalars."""
    mean: Any
    """The default choice (the search centre); the first value unless ``mean`` is given."""
    scale: float
    """Half-width of local search in normalised units."""

    def normalize(self, value: Any) -> np.ndarray:
        """Choice (or array of choices) -> centre of its bin in [-1, 1]."""
        items = np.atleast_1d(np.asarray(value, dtype=object))
        idx = np.array([self.index(v) for v in items], dtype=float)
        out = -1.0 + (2.0 * idx + 1.0) / len(self.values)
        return out if np.ndim(value) else out[0]

    def unnormalize(self, z: Any) -> np.ndarray:
        """[-1, 1] -> bin index (as float); ``to_python`` turns it into the choice."""
        k = len(self.values)
        return np.clip(np.floor((np.asarray(z, dtype=float) + 1.0) / 2.0 * k), 0, k - 1)

    def to_python(self, value: float) -> Any:
        return self.values[int(value)]

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.values):
            if type(choice) is type(value) and choice == value:
                return i
        for i, choice in enumerate(self.values):
            if choice == value:
                return i
        raise InputError(f"parameter {self.path!r} must be one of {list(self.values)!r}, got {value!r}")

    def grid(self, points: int) -> list[Any]:
        return list(self.values)

    def check_value(self, value: Any) -> Any:
        return self.values[self.index(value)]


Param = NumericParam | CategoricalParam


def _parse_scale(raw: Any, path: str, distribution: str, lo: float, hi: float) -> float:
    if raw is None or raw == "auto":
        return 0.5
    if raw == "time":
        if distribution not in ("log_normal", "uniform_pow2"):
            raise InputError(
                f"parameter {path!r}: scale 'time' needs a log_normal or uniform_pow2 distribution, "
                f"got {distribution!r}",
                hint="use scale: auto or a number",
            )
        return 1.0 / (math.log2(hi) - math.log2(lo))
    scale = _finite_number(raw, f"parameter {path!r} scale")
    if scale <= 0:
        raise InputError(f"parameter {path!r}: scale must be positive, 'auto' or 'time', got {raw!r}")
    return scale


def _default_mean(distribution: str, lo: float, hi: float) -> float:
    centre = NumericParam(path="", distribution=distribution, min=lo, max=hi, mean=lo, scale=0.5)
    return float(centre.unnormalize(0.0))


def _parse_numeric(path: str, leaf: Mapping[str, Any]) -> NumericParam:
    distribution = leaf.get("distribution")
    if distribution not in DISTRIBUTIONS:
        raise InputError(
            f"parameter {path!r}: unknown distribution {distribution!r}",
            hint=f"use one of {', '.join(DISTRIBUTIONS)}",
        )
    unknown = set(leaf) - {"distribution", "min", "max", "mean", "scale"}
    if unknown:
        raise InputError(f"parameter {path!r}: unknown keys {sorted(unknown)}",
                         hint="a numeric leaf takes distribution, min, max, mean, scale")
    for key in ("min", "max"):
        if key not in leaf:
            raise InputError(f"parameter {path!r}: {key!r} is required for distribution {distribution!r}")
    lo = _finite_number(leaf["min"], f"parameter {path!r} min")
    hi = _finite_number(leaf["max"], f"parameter {path!r} max")
    if lo >= hi:
        raise InputError(f"parameter {path!r}: min must be < max, got min={lo} max={hi}")
    if distribution in ("log_normal", "uniform_pow2") and lo <= 0:
        raise InputError(f"parameter {path!r}: {distribution} takes logs, so min must be > 0, got {lo}")
    if distribution == "logit_normal" and not 0 < lo < hi < 1:
        raise InputError(f"parameter {path!r}: logit_normal needs 0 < min < max < 1, got min={lo} max={hi}")
    if distribution == "int_uniform" and math.ceil(lo) > math.floor(hi):
        raise InputError(f"parameter {path!r}: no integer lies in [{lo}, {hi}]")
    if distribution == "uniform_pow2" and math.ceil(math.log2(lo)) > math.floor(math.log2(hi)):
        raise InputError(f"parameter {path!r}: no power of two lies in [{lo}, {hi}]")
    mean = leaf.get("mean")
    mean = _default_mean(distribution, lo, hi) if mean is None else _finite_number(
        mean, f"parameter {path!r} mean")
    if not lo <= mean <= hi:
        raise InputError(f"parameter {path!r}: mean must lie in [min, max] = [{lo}, {hi}], got {mean}")
    scale = _parse_scale(leaf.get("scale"), path, distribution, lo, hi)
    return NumericParam(path=path, distribution=distribution, min=lo, max=hi, mean=mean, scale=scale)


def _parse_categorical(path: str, leaf: Mapping[str, Any]) -> CategoricalParam:
    values = leaf["values"]
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
        raise InputError(f"parameter {path!r}: values must be a non-empty list, got {values!r}")
    for v in values:
        if not (v is None or isinstance(v, str | int | float | bool)):
            raise InputError(f"parameter {path!r}: values must be plain scalars, got {v!r}")
    if len({(type(v), v) for v in values}) != len(values):
        raise InputError(f"parameter {path!r}: values must be distinct, got {list(values)!r}")
    unknown = set(leaf) - {"values", "mean", "scale", "distribution"}
    if unknown or leaf.get("distribution") not in (None, "categorical"):
        raise InputError(f"parameter {path!r}: a categorical leaf takes values, mean, scale; "
                         f"got keys {sorted(leaf)}")
    param = CategoricalParam(path=path, values=tuple(values), mean=values[0], scale=0.5)
    mean = param.check_value(leaf["mean"]) if leaf.get("mean") is not None else values[0]
    raw_scale = leaf.get("scale")
    scale = 0.5 if raw_scale in (None, "auto") else _finite_number(raw_scale, f"parameter {path!r} scale")
    if scale <= 0:
        raise InputError(f"parameter {path!r}: scale must be positive, got {raw_scale!r}")
    return CategoricalParam(path=path, values=tuple(values), mean=mean, scale=scale)


def _walk(tree: Mapping[str, Any], prefix: str) -> Iterable[Param]:
    for key, node in tree.items():
        if not isinstance(key, str) or not key or "." in key:
            raise InputError(f"parameter name {key!r} under {prefix or 'parameters'!r} must be a "
                             "non-empty string without dots", hint="nest the names instead")
        path = f"{prefix}.{key}" if prefix else key
        if not isinstance(node, Mapping):
            raise InputError(
                f"parameter {path!r} must be a mapping with 'distribution' (or 'values'), got {node!r}")
        if "values" in node:
            yield _parse_categorical(path, node)
        elif "distribution" in node:
            yield _parse_numeric(path, node)
        elif not node:
            raise InputError(f"parameter {path!r} is empty", hint="give it a distribution or remove it")
        else:
            yield from _walk(node, path)


class ParameterSpace:
    """The ordered leaves of a parameter tree and the maps between nested, flat and box forms."""

    def __init__(self, params: Sequence[Param]) -> None:
        if not params:
            raise InputError("the sweep has no parameters", hint="add a 'parameters:' tree with leaves")
        self.params: tuple[Param, ...] = tuple(params)
        self.paths: tuple[str, ...] = tuple(p.path for p in self.params)
        self.dim = len(self.params)
        self.center = np.array([float(p.normalize(p.mean)) for p in self.params])
        self.scales = np.array([p.scale for p in self.params])

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> ParameterSpace:
        """Parse a nested ``parameters:`` mapping (leaves have ``distribution`` or ``values``)."""
        if not isinstance(tree, Mapping):
            raise InputError(f"'parameters' must be a mapping, got {type(tree).__name__}")
        return cls(list(_walk(tree, "")))

    def flatten(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Nested or dotted mapping -> ``{dotted path: value}`` for every parameter of the space."""
        out: dict[str, Any] = {}
        for path in self.paths:
            if path in params:
                out[path] = params[path]
                continue
            node: Any = params
            for part in path.split("."):
                if not isinstance(node, Mapping) or part not in node:
                    raise InputError(f"parameter {path!r} is missing from {dict(params)!r}")
                node = node[part]
            out[path] = node
        return out

    def nest(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """``{dotted path: value}`` -> nested dict mirroring the parameter tree."""
        out: dict[str, Any] = {}
        for path in self.paths:
            node = out
            *parents, leaf = path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = flat[path]
        return out

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """Validated nested/flat values -> one point of the box, shape ``(dim,)``."""
        flat = self.flatten(params)
        return np.array([float(p.normalize(p.check_value(flat[p.path]))) for p in self.params])

    def from_unit(self, z: np.ndarray) -> dict[str, Any]:
        """One box point -> flat dict of plain Python values (rounded, clipped)."""
        z = np.asarray(z, dtype=float).reshape(self.dim)
        return {p.path: p.to_python(float(p.unnormalize(z[i]))) for i, p in enumerate(self.params)}

    def snap(self, z: np.ndarray) -> np.ndarray:
        """Project box points onto what a suggestion can be (integers, pow2, bins), shape kept."""
        z = np.atleast_2d(np.asarray(z, dtype=float))
        out = np.empty_like(z)
        for i, p in enumerate(self.params):
            out[:, i] = p.normalize(p.round(p.unnormalize(z[:, i])) if isinstance(p, NumericParam)
                                    else [p.values[int(k)] for k in p.unnormalize(z[:, i])])
        return out

    def sample(self, rng: np.random.Generator, n: int, mu: np.ndarray | None = None,
               scale: float | np.ndarray = 1.0) -> np.ndarray:
        """``n`` points drawn uniformly within ``scale * scales`` of centres ``mu`` (rows picked at
        random), clipped to the box. ``mu=None`` means the search centre. Shape ``(n, dim)``."""
        mu = self.center[None, :] if mu is None else np.atleast_2d(mu)
        rows = mu[rng.integers(0, len(mu), size=n)]
        width = np.asarray(scale, dtype=float).reshape(-1, 1) * self.scales[None, :]
        return np.clip(rows + width * rng.uniform(-1.0, 1.0, size=(n, self.dim)), -1.0, 1.0)

    def sample_uniform(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points uniform over the whole box, shape ``(n, dim)``."""
        return rng.uniform(-1.0, 1.0, size=(n, self.dim))


@dataclass(frozen=True, kw_only=True)
class ProteinSettings:
    """The ``protein:`` block of a sweep config."""

    num_random_samples: int = 10
    """Suggestions made before the GP is used; the first is the search centre."""
    max_suggestion_cost: float | None = None
    """Candidates whose predicted cost exceeds this are never suggested (``None``: no cap)."""
    resample_frequency: int = 0
    """Every N-th suggestion re-tries a Pareto point to measure noise (0: never)."""
    global_search_scale: float = 1.0
    """Width multiplier for global candidates and the reach of the cost target beyond the
    observed cost range (larger explores more)."""
    random_suggestions: int = 1024
    """Global candidates scored per suggestion."""
    suggestions_per_pareto: int = 256
    """Local candidates scored around each Pareto point."""
    acquisition: Acquisition = "ei"
    """``ei`` (expected improvement), ``ucb`` (upper confidence bound) or ``naive`` (the original
    Protein rule: predicted score weighted by closeness to a random cost target)."""
    ucb_beta: float = 2.0
    """Exploration weight of ``ucb``: mean + beta * std."""
    grid_points: int = 5
    """Values per numeric parameter for ``method: grid``."""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> ProteinSettings:
        raw = dict(raw or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise InputError(f"protein: unknown keys {sorted(unknown)}", hint=f"known keys: {sorted(known)}")
        ints = {"num_random_samples": 1, "resample_frequency": 0, "random_suggestions": 1,
                "suggestions_per_pareto": 1, "grid_points": 2}
        for key, low in ints.items():
            if key in raw:
                value = raw[key]
                if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                    raise InputError(f"protein.{key} must be an integer >= {low}, got {value!r}")
                raw[key] = int(value)
        for key in ("global_search_scale", "ucb_beta"):
            if key in raw:
                raw[key] = _finite_number(raw[key], f"protein.{key}")
                if raw[key] < 0:
                    raise InputError(f"protein.{key} must be >= 0, got {raw[key]}")
        if raw.get("max_suggestion_cost") is not None:
            cap = _finite_number(raw["max_suggestion_cost"], "protein.max_suggestion_cost")
            if cap <= 0:
                raise InputError(f"protein.max_suggestion_cost must be positive, got {cap}")
            raw["max_suggestion_cost"] = cap
        if "acquisition" in raw and raw["acquisition"] not in ACQUISITIONS:
            raise InputError(f"protein.acquisition must be one of {', '.join(ACQUISITIONS)}, "
                             f"got {raw['acquisition']!r}")
        return cls(**raw)


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """A validated sweep: what to optimise, how, and over which parameters."""

    metric: str
    """Name of the objective (a W&B summary key or results-file key)."""
    goal: Goal
    """``maximize`` or ``minimize``."""
    method: Method
    """``bayes`` (Protein), ``random`` or ``grid``."""
    protein: ProteinSettings
    """Optimiser settings."""
    parameters: ParameterSpace
    """The parsed parameter tree."""
    raw: dict[str, Any] = field(repr=False)
    """The resolved config as plain containers (what ``config.yaml`` of a sweep stores)."""

    @property
    def direction(self) -> float:
        """+1 for maximize, -1 for minimize: multiply scores by it to always maximise."""
        return 1.0 if self.goal == "maximize" else -1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-container form that :func:`load_sweep_config` reads back to an equal config."""
        return {k: v for k, v in self.raw.items()}


def _to_container(source: Mapping[str, Any] | str | Path, overrides: Sequence[str]) -> dict[str, Any]:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        if isinstance(source, str | Path):
            path = Path(source)
            if not path.is_file():
                raise NotFoundError(f"sweep config {str(path)!r} does not exist",
                                    hint="pass the path of a YAML file with a 'parameters:' tree")
            conf = OmegaConf.load(path)
        else:
            conf = OmegaConf.create(dict(source)) if not OmegaConf.is_config(source) else source
        if overrides:
            conf = OmegaConf.merge(conf, OmegaConf.from_dotlist(list(overrides)))
        out = OmegaConf.to_container(conf, resolve=True)
    except OmegaConfBaseException as exc:
        raise InputError(f"sweep config cannot be read: {exc}",
                         hint="check the YAML syntax and that every ${...} interpolation exists") from exc
    except Exception as exc:  # yaml.YAMLError and friends from OmegaConf.load
        if isinstance(exc, NotFoundError):
            raise
        raise InputError(f"sweep config cannot be read: {exc}", hint="check the YAML syntax") from exc
    if not isinstance(out, dict):
        raise InputError(f"sweep config must be a mapping, got {type(out).__name__}")
    return out


def _unwrap(doc: dict[str, Any]) -> dict[str, Any]:
    """Accept the programmatic form ``{sweep: {protein, parameters: {metric, goal, ...tree}}}``."""
    if "parameters" not in doc and isinstance(doc.get("sweep"), Mapping):
        doc = dict(doc["sweep"])
    params = doc.get("parameters")
    if isinstance(params, Mapping):
        params = dict(params)
        for key in _LIFTED_KEYS:
            if key in params and not isinstance(params[key], Mapping):
                value = params.pop(key)
                doc.setdefault(key, value)
        doc = {**doc, "parameters": params}
    return doc


def load_sweep_config(source: Mapping[str, Any] | str | Path | SweepConfig,
                      overrides: Sequence[str] = ()) -> SweepConfig:
    """Read and validate a sweep config.

    ``source`` is a mapping (plain or OmegaConf), a YAML path or a :class:`SweepConfig` (returned
    as is when there are no overrides). ``overrides`` are ``key=value`` dotlist entries applied
    before interpolations are resolved. Raises :class:`InputError` naming the offending entry.
    """
    if isinstance(source, SweepConfig):
        if not overrides:
            return source
        source = source.to_dict()
    doc = _unwrap(_to_container(source, overrides))
    if "parameters" not in doc:
        raise InputError("sweep config has no 'parameters:' tree",
                         hint="add parameters (or the programmatic form sweep: {parameters: ...})")
    metric = doc.get("metric", "score")
    if not isinstance(metric, str) or not metric:
        raise InputError(f"sweep config 'metric' must be a non-empty string, got {metric!r}")
    goal = doc.get("goal", "maximize")
    if goal not in GOALS:
        raise InputError(f"sweep config 'goal' must be maximize or minimize, got {goal!r}")
    method = doc.get("method", "bayes")
    if method not in METHODS:
        raise InputError(f"sweep config 'method' must be one of {', '.join(METHODS)}, got {method!r}")
    return SweepConfig(
        metric=metric, goal=goal, method=method,
        protein=ProteinSettings.from_mapping(doc.get("protein")),
        parameters=ParameterSpace.from_tree(doc["parameters"]),
        raw={**doc, "metric": metric, "goal": goal, "method": method},
    )


__all__ = [
    "CategoricalParam",
    "NumericParam",
    "Param",
    "ParameterSpace",
    "ProteinSettings",
    "SweepConfig",
    "load_sweep_config",
]
