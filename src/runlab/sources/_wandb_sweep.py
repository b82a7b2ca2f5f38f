"""A W&B sweep as the collector sees it: checked to exist before its runs are listed.

Selecting ``--sweep ID`` filters runs on the server by their sweep; looking the sweep up first
(``GetSweep``) turns a mistyped id into "sweep not found" instead of an empty, silent fetch, and
gives the sweep's config (metric, goal, parameters) for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runlab.errors import FetchError, NotFoundError, WandbAuthError
from runlab.sources._wandb_retry import RetryPolicy, describe, with_retries


@dataclass(frozen=True, kw_only=True)
class SweepInfo:
    """A W&B sweep's identity, state and config."""

    id: str
    """The sweep id (the last part of its URL); runs store it as ``sweep_id``."""
    name: str
    state: str
    config: dict[str, Any] = field(default_factory=dict)
    run_count: int | None = None
    """Runs the server counts in the sweep (None when it does not say)."""

    @property
    def metric(self) -> str:
        """The sweep's objective metric name ('' when its config has none)."""
        metric = self.config.get("metric")
        return str(metric.get("name", "")) if isinstance(metric, dict) else ""


def load_sweep(api: Any, entity: str, project: str, sweep_id: str, retry: RetryPolicy) -> SweepInfo:
    """Look a sweep up (``GetSweep``); NotFoundError when the project has no such sweep."""
    path = f"{entity}/{project}/{sweep_id}"

    def fetch() -> Any:
        try:
            return api.sweep(path)
        except Exception as exc:  # the client says "Could not find sweep" (ValueError, or CommError around it)
            if "could not find sweep" in str(exc).lower():
                raise NotFoundError(
                    f"W&B sweep {sweep_id!r} not found in {entity}/{project}",
                    hint="the sweep id is the last part of the sweep URL (.../sweeps/<id>); check ENTITY/PROJECT too",
                ) from None
            raise

    try:
        sweep = with_retries(fetch, retry, f"looking up sweep {path}")
    except (WandbAuthError, NotFoundError):
        raise
    except Exception as exc:
        raise FetchError(
            f"looking up sweep {path} failed after {retry.max_retries} retries: {describe(exc)}",
            hint="check WANDB_BASE_URL and the network, then run the same command again",
        ) from None
    attrs = getattr(sweep, "_attrs", {}) or {}
    try:
        config = dict(sweep.config or {})
    except Exception:  # a config the client cannot parse still names the sweep
        config = {}
    count = attrs.get("runCount")
    return SweepInfo(
        id=sweep_id,
        name=str(sweep.name or sweep_id),
        state=str(attrs.get("state") or "unknown"),
        config=config,
        run_count=int(count) if isinstance(count, int) else None,
    )
