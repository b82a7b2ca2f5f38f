"""What to fetch from the W&B API (:class:`RunSelection`) and how (:class:`FetchOptions`).

Two frozen values instead of two dozen keyword arguments: a selection can be built once, checked
(every option is validated when the value is made, naming the option), printed, compared, and
reused with other fetch options, e.g. a quick ``FetchOptions(artifacts=False)`` first pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import date, datetime
from typing import Any

from runlab.errors import InputError
from runlab.sources._wandb_artifacts import ArtifactPolicy
from runlab.sources._wandb_metrics import MetricGroups
from runlab.sources._wandb_retry import RetryPolicy
from runlab.sources._wandb_select import build_filters


def _names(label: str, value: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InputError(f"{label} must be a list of strings, not one string: got {value!r}",
                         hint=f"write {label}=[{value!r}]")
    return tuple(value)


@dataclass(frozen=True)
class RunSelection:
    """Which runs of one W&B project, and which of their metrics and config params.

    The run options combine with AND and are evaluated on the server. ``metrics`` lists names,
    globs and ``@group`` references (built-in groups such as ``@overview``, ``@losses``,
    ``@cleanrl``, plus ``metric_groups``); empty means every history key. Only ``entity`` and
    ``project`` are positional: ``RunSelection("my-team", "my-project", pattern="sky_*")``.
    """

    entity: str
    """W&B user or team name."""
    project: str
    """W&B project name."""
    _: KW_ONLY
    pattern: str | None = None
    """Glob on the run's display name, e.g. ``sky_comprehensive_*``."""
    regex: str | None = None
    """Regular expression on the display name (not together with ``pattern``)."""
    filters: str | Mapping[str, Any] | None = None
    """Raw MongoDB-style filter, as JSON text or a mapping, e.g. ``{"config.lr": {"$gt": 1e-3}}``."""
    tags: Sequence[str] = ()
    """Tags every selected run must have."""
    group: str | None = None
    """Only runs of this W&B group."""
    state: str | None = None
    """Only runs in this state (``finished``, ``running``, ``crashed``, ...)."""
    since: str | date | datetime | None = None
    """Only runs created on or after this date (ISO text, UTC unless a zone is given)."""
    sweep: str | None = None
    """Only the runs of this W&B sweep (the id at the end of its URL)."""
    metrics: Sequence[str] = ()
    """History keys to fetch: names, globs, ``@groups``; empty means all."""
    config_params: Sequence[str] = ()
    """Dotted config paths to check and report per run (the full config is stored either way)."""
    metric_groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Extra named groups: ``{"training": ["losses/*"]}`` makes ``@training`` usable in ``metrics``."""

    def __post_init__(self) -> None:
        for label, value in (("entity", self.entity), ("project", self.project)):
            if not isinstance(value, str) or not value or "/" in value or value.strip() != value:
                raise InputError(f"{label} must be a non-empty name without '/' or spaces, got {value!r}")
        for label in ("tags", "metrics", "config_params"):
            object.__setattr__(self, label, _names(label, getattr(self, label)))
        object.__setattr__(self, "metric_groups",
                           {k: _names(f"metric group {k!r}", v) for k, v in dict(self.metric_groups).items()})
        self.filter_document()  # every run option is checked now, not at the first request
        self.groups()

    @property
    def path(self) -> str:
        """``entity/project``."""
        return f"{self.entity}/{self.project}"

    def filter_document(self) -> dict[str, Any]:
        """The one server-side filter all run options become (``$and`` of the parts)."""
        return build_filters(pattern=self.pattern, regex=self.regex, filters=self.filters, tags=self.tags,
                             group=self.group, state=self.state, since=self.since, sweep=self.sweep)

    def groups(self) -> MetricGroups:
        """The built-in metric groups plus :attr:`metric_groups`."""
        groups = MetricGroups()
        for name, members in self.metric_groups.items():
            groups.add(name, members)
        return groups


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """How the collector downloads: parallelism, patience, refresh, and which artifact files."""

    workers: int = 4
    """Runs downloaded in parallel."""
    refresh: bool = False
    """Download every run again, even when the stored copy is current."""
    max_retries: int = 5
    """Retries per request on rate limits, 5xx answers, timeouts and dropped connections."""
    retry_base_delay: float = 1.0
    """Seconds before the first retry; doubles on each further one."""
    timeout: int = 60
    """Seconds the client waits for one API answer."""
    history_timeout: float = 1800.0
    """Seconds one run's history download may take before the run is reported as failed."""
    page_size: int = 10_000
    """History rows per page of ``scan_history``."""
    artifacts: bool = True
    """List each fetched run's output artifacts (and download the wanted ones)."""
    artifact_types: Sequence[str] = ()
    """Artifact types whose files are downloaded whatever their size (``*``: every type)."""
    artifact_max_bytes: int = 1_000_000
    """Artifacts up to this total size are downloaded whatever their type (0: none by size)."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InputError(f"workers must be >= 1, got {self.workers}")
        if self.history_timeout <= 0:
            raise InputError(f"history_timeout must be > 0 seconds, got {self.history_timeout}")
        if self.timeout <= 0 or self.page_size < 1:
            raise InputError(f"timeout and page_size must be positive, got {self.timeout} and {self.page_size}")
        if not isinstance(self.artifact_types, str):
            object.__setattr__(self, "artifact_types", tuple(self.artifact_types))
        try:
            self.retry_policy()
        except ValueError as exc:
            raise InputError(str(exc)) from None
        self.artifact_policy()

    def retry_policy(self) -> RetryPolicy:
        """The backoff every API call is wrapped in."""
        return RetryPolicy(max_retries=self.max_retries, base_delay=self.retry_base_delay)

    def artifact_policy(self) -> ArtifactPolicy:
        """Which artifacts are listed and which downloaded."""
        return ArtifactPolicy(enabled=self.artifacts, types=self.artifact_types,  # type: ignore[arg-type]
                              max_bytes=self.artifact_max_bytes)
