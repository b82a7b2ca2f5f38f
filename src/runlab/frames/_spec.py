"""Options of the tidy frame: where tasks come from, how to downsample, how to fill gaps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from runlab.errors import InputError

Interpolation = Literal["none", "linear", "ffill"]
INTERPOLATIONS: tuple[str, ...] = ("none", "linear", "ffill")
DOWNSAMPLE_METHODS: tuple[str, ...] = ("every_nth", "log", "lttb")


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """Where a run's task comes from: a config value, or a capture in metric names.

    Exactly one of ``config_path`` and ``metric_regex`` is set. With ``metric_regex`` every
    metric whose name matches becomes a score of the captured ``task`` in column ``column``;
    other named groups (e.g. ``suite``) become columns too; other requested metrics are attached
    to each task row at the same step.
    """

    config_path: str | None = None
    """Dotted config path whose value names the task (e.g. ``sim.task``)."""
    metric_regex: str | None = None
    """Regex with a named group ``task``, e.g. ``eval_(?P<suite>[^/]+)/(?P<task>.+)``."""
    column: str = "score"
    """Name of the value column for metric-regex tasks."""
    default: str = "all"
    """Task of runs whose config lacks ``config_path``."""
    _compiled: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.config_path is None) == (self.metric_regex is None):
            raise InputError(
                "TaskSpec needs exactly one of config_path and metric_regex, "
                f"got config_path={self.config_path!r}, metric_regex={self.metric_regex!r}"
            )
        if self.metric_regex is not None:
            try:
                rx = re.compile(self.metric_regex)
            except re.error as exc:
                raise InputError(f"metric_regex {self.metric_regex!r} is not a valid regex: {exc}") from exc
            if "task" not in rx.groupindex:
                raise InputError(
                    f"metric_regex must have a named group 'task', got {self.metric_regex!r}",
                    hint="write it like eval_(?P<suite>[^/]+)/(?P<task>.+)",
                )
            object.__setattr__(self, "_compiled", rx)

    @property
    def regex(self) -> re.Pattern[str] | None:
        """The compiled ``metric_regex`` (``None`` for config tasks)."""
        return self._compiled

    def task_name(self, metric: str) -> str | None:
        """The task a metric scores under ``metric_regex``, other named groups first
        (``eval_cartpole/heavy`` -> ``cartpole/heavy``); None when the metric does not match."""
        if self._compiled is None:
            return None
        hit = self._compiled.fullmatch(metric)
        if hit is None:
            return None
        groups = hit.groupdict()
        parts = [str(v) for k, v in groups.items() if k != "task" and v is not None]
        return "/".join([*parts, str(groups["task"])])

    @classmethod
    def parse(cls, text: str) -> TaskSpec:
        """``config:sim.task`` or ``regex:eval_(?P<task>.+)``; a text with ``(?P<task>`` is a regex."""
        if text.startswith("config:"):
            return cls(config_path=text[len("config:"):])
        if text.startswith("regex:"):
            return cls(metric_regex=text[len("regex:"):])
        if "(?P<task>" in text:
            return cls(metric_regex=text)
        if "(?P<" in text:
            # A named group but not ``task``: a regex meant as one, with a misspelt group name.
            groups = re.findall(r"\(\?P<([^>]*)>", text)
            raise InputError(
                f"task_by {text!r} looks like a metric regex but has no (?P<task>...) group "
                f"(its named groups: {', '.join(map(repr, groups))})",
                hint="name the group that captures the task 'task', e.g. eval_(?P<suite>[^/]+)/(?P<task>.+)",
            )
        return cls(config_path=text)


@dataclass(frozen=True)
class Downsample:
    """Keep fewer points per run: ``every_nth`` (stride n), ``log`` (~n log-spaced), ``lttb`` (n points).

    LTTB (largest-triangle-three-buckets) keeps the shape of one metric's curve (``metric``,
    default the first requested metric); the same steps are kept for every metric of the run.
    """

    method: str
    n: int
    metric: str | None = None

    def __post_init__(self) -> None:
        if self.method not in DOWNSAMPLE_METHODS:
            raise InputError(f"downsample method must be one of {', '.join(DOWNSAMPLE_METHODS)}, got {self.method!r}")
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < (1 if self.method == "every_nth" else 3):
            low = 1 if self.method == "every_nth" else 3
            raise InputError(f"downsample n for {self.method} must be an integer >= {low}, got {self.n!r}")

    @classmethod
    def parse(cls, spec: str | Downsample | None) -> Downsample | None:
        """Accept ``"lttb:500"``, ``"every_nth:10"``, ``"log:200"`` or a :class:`Downsample`."""
        if spec is None or isinstance(spec, Downsample):
            return spec
        method, _, n = str(spec).partition(":")
        try:
            return cls(method.strip(), int(n))
        except ValueError:
            raise InputError(f"downsample must look like 'lttb:500', got {spec!r}") from None


def check_interpolation(value: str) -> str:
    """Validate an interpolation name."""
    if value not in INTERPOLATIONS:
        raise InputError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {value!r}")
    return value
