"""The comparison/report configuration: seed 001's YAML plus grouping, tasks and reducer.

One pydantic model validates the file and the ``key=value`` overrides together, so that a typo
(``analysis.bootstrap_sample=...``) or a wrong type fails before any work with the field's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runlab.errors import InputError, NotFoundError, RunlabError
from runlab.stats import (
    CI_METHODS,
    CORRECTION_ALIASES,
    CORRECTIONS,
    CurveAggregate,
    Direction,
    Normalization,
    Reducer,
    Test,
    choice,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WandbSection(_Strict):
    """Where results are exported with ``--to-wandb`` (and where the runs came from)."""

    entity: str | None = None
    project: str | None = None
    mode: Literal["online", "offline"] | None = None
    """``offline`` writes a local run directory instead of uploading (None: wandb's default)."""


class MetricsSection(_Strict):
    primary: list[str] = Field(default_factory=list)
    """Metrics compared with bootstrap CIs and tests (one comparison each)."""
    secondary: list[str] = Field(default_factory=list)
    """Metrics summarised per method in the data overview."""


class AnalysisSection(_Strict):
    iqm_trim_percentage: float = Field(0.25, ge=0.0, lt=0.5)
    """Fraction cut from each end for the IQM (0.25 = interquartile mean)."""
    bootstrap_samples: int = Field(2000, ge=1)
    """Bootstrap resamples for every CI."""
    confidence_level: float = Field(0.95, gt=0.0, lt=1.0)
    ci_method: str = "percentile"
    """A bootstrap interval method of :mod:`runlab.stats` (``percentile``, ``basic``, ``bca`` ...)."""
    task_bootstrap: bool = False
    """Also resample tasks (wider intervals; the tasks are then a sample too)."""
    tests: list[Test] = Field(default_factory=lambda: ["welch_t", "mann_whitney"])
    correction: str = "holm"
    """A multiple-comparison correction (``holm``, ``bonferroni``, ``fdr_bh`` or ``bh``, ``none``)."""
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    seed: int = 0

    @field_validator("ci_method")
    @classmethod
    def _ci_method(cls, v: str) -> str:
        return _valid(lambda: choice("ci_method", v, tuple(CI_METHODS)))

    @field_validator("correction")
    @classmethod
    def _correction(cls, v: str) -> str:
        return _valid(lambda: choice("correction", v, CORRECTIONS, CORRECTION_ALIASES))


def _valid(check: Any) -> str:
    """Run a vocabulary check inside a pydantic validator (its message becomes the field's error)."""
    try:
        return str(check())
    except RunlabError as exc:
        raise ValueError(exc.message) from None


class VisualizationSection(_Strict):
    style: str = "default"
    """A matplotlib style name; ``seaborn`` means seaborn's whitegrid look."""
    color_palette: str = "colorblind"
    """``colorblind`` (Okabe-Ito) or any seaborn/matplotlib palette name."""


class SampleEfficiencySection(_Strict):
    """Aggregate score along training: the comparison's runs resampled onto a shared x grid."""

    enabled: bool = True
    x_axis: str = Field("metric/agent_step", min_length=1)
    """``_step`` or an x-axis metric; curves are compared at equal values of it."""
    points: int = Field(20, ge=2, le=1000)
    """Grid points between the latest first and the earliest last x of all runs."""
    aggregate: CurveAggregate = "iqm"
    """Aggregate across runs and tasks at each point (``iqm`` honours ``analysis.iqm_trim_percentage``)."""

    @field_validator("x_axis")
    @classmethod
    def _x_axis_is_a_name(cls, v: str) -> str:
        if not v.strip() or v != v.strip() or any(c in v for c in "\n\r\t\x00"):
            raise ValueError("must be '_step' or a metric name without surrounding spaces or control characters")
        return v


class CompareConfig(_Strict):
    """What to compare and how; the YAML file maps onto these fields one to one."""

    wandb: WandbSection = Field(default_factory=WandbSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    analysis: AnalysisSection = Field(default_factory=AnalysisSection)
    optimal_scores: dict[str, float] | None = None
    """Score of an optimal policy per task: scores are normalised to (x - random) / (optimal - random)."""
    random_scores: dict[str, float] | None = None
    visualization: VisualizationSection = Field(default_factory=VisualizationSection)
    sample_efficiency: SampleEfficiencySection = Field(default_factory=SampleEfficiencySection)
    runs: list[str] | None = None
    """Run ids, names or glob patterns to include (None: every run in the warehouse)."""
    group_by: str = "method"
    """Label key or dotted config path that names a run's method."""
    task_by: str | None = None
    """Dotted config path, metric regex with ``(?P<task>...)``, or None (one task)."""
    reducer: Reducer = "last"
    n: int = Field(10, ge=1)
    """Values averaged by ``last_n_mean``."""
    direction: Direction = "maximize"
    normalize: Normalization | None = None
    title: str = "runlab comparison"

    @field_validator("task_by")
    @classmethod
    def _regex_compiles(cls, v: str | None) -> str | None:
        if v is not None and "(?P<" in v and "(?P<task>" not in v:
            import re

            groups = re.findall(r"\(\?P<([^>]*)>", v)
            raise ValueError(f"looks like a metric regex but has no (?P<task>...) group (its named groups: "
                             f"{', '.join(map(repr, groups))}); name the task group 'task'")
        if v is not None and "(?P<task>" in v:
            import re

            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc})") from exc
        return v

    def score_metrics(self) -> list[str | None]:
        """The metric argument of each comparison (None once: a regex task_by selects the metrics)."""
        if self.task_by is not None and "(?P<task>" in self.task_by:
            return [None]
        if not self.metrics.primary:
            raise InputError(
                "metrics.primary is empty: nothing to compare",
                hint="set metrics.primary=[overview/reward] (file or key=value override)",
            )
        return list(self.metrics.primary)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> CompareConfig:
    """Read a YAML file (optional), apply ``key=value`` overrides (OmegaConf dotlist), validate."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        base = OmegaConf.create({})
        if path is not None:
            p = Path(path).expanduser()
            if not p.is_file():
                raise NotFoundError(f"config file {str(p)!r} does not exist", hint="check the path")
            base = OmegaConf.load(p)
        bad = [o for o in overrides if "=" not in o]
        if bad:
            raise InputError(f"overrides must look like key=value, got {bad}")
        merged = OmegaConf.merge(base, OmegaConf.from_dotlist(list(overrides)))
        data: Any = OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as exc:
        raise InputError(f"cannot read the configuration: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"the configuration must be a mapping, got {type(data).__name__}")
    return validate_config(data)


def validate_config(data: dict[str, Any]) -> CompareConfig:
    """Validate a plain dict; errors list every bad field as ``path: problem (got value)``."""
    try:
        return CompareConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(root)"
            got = f" (got {err['input']!r})" if err["type"] != "missing" else ""
            problems.append(f"{where}: {err['msg']}{got}")
        raise InputError(
            "invalid configuration: " + "; ".join(problems),
            hint="fix the config file or the key=value override named above",
        ) from None
