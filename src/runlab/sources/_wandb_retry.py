"""Retries with exponential backoff for W&B API calls, and the error classification they need.

wandb-core retries some failures itself; what still reaches us (rate limits that outlast its
retries, 5xx answers, timeouts, dropped connections) is retried here, so that one slow minute of
the backend does not cost a 500-run fetch. Authentication failures are never retried: they become
one :class:`~runlab.errors.WandbAuthError` with the fix.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from runlab.errors import WandbAuthError

log = logging.getLogger("runlab.sources.wandb_api")

T = TypeVar("T")

_AUTH = re.compile(
    r"\b401\b|\b403\b|unauthori[sz]ed|not logged in|invalid credentials|failed to verify credentials|"
    r"api key|permission denied|authenticat",
    re.IGNORECASE,
)
_RETRYABLE = re.compile(
    r"\b429\b|too many requests|rate.?limit|\b5\d\d\b|internal server error|bad gateway|"
    r"service unavailable|gateway timeout|time(d)?[ -]?out|deadline exceeded|connection|EOF|reset by peer|"
    r"broken pipe|temporar",
    re.IGNORECASE,
)

_UNREACHABLE = re.compile(
    r"connection refused|failed to establish a new connection|name or service not known|"
    r"nodename nor servname|no route to host|network is unreachable|temporary failure in name resolution",
    re.IGNORECASE,
)

AUTH_HINT = (
    "set WANDB_API_KEY to a valid key (https://wandb.ai/authorize) or run `wandb login`; "
    "for a self-hosted server also set WANDB_BASE_URL"
)


def is_auth_error(exc: BaseException) -> bool:
    """True when the failure means the API key is missing, malformed or rejected.

    A failure to connect at all is never one, whatever words the client wraps it in: the server
    that would judge the key was not reached.
    """
    if isinstance(exc, ConnectionError) or _UNREACHABLE.search(_text(exc)):
        return False
    return type(exc).__name__ in ("AuthenticationError", "UsageError") or bool(_AUTH.search(_text(exc)))


def is_retryable(exc: BaseException) -> bool:
    """True for rate limits, server errors, timeouts and dropped connections."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    return not is_auth_error(exc) and bool(_RETRYABLE.search(_text(exc)))


def _text(exc: BaseException) -> str:
    parts = [type(exc).__name__, str(exc)]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        parts += [type(cause).__name__, str(cause)]
    return " ".join(parts)


def describe(exc: BaseException) -> str:
    """A one-line description of a failure for reports (no tracebacks, no secrets)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:400]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry one API call."""

    max_retries: int = 5
    """Retries after the first attempt (0: fail on the first error)."""
    base_delay: float = 1.0
    """Seconds before the first retry; doubles on each further retry."""
    max_delay: float = 60.0
    """Cap on one wait."""
    seed: int | None = None
    """Seed for the jitter that spreads retries of parallel workers apart."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"retry delays must be >= 0, got {self.base_delay}, {self.max_delay}")

    def delays(self) -> list[float]:
        """The waits before retry 1..max_retries: exponential, capped, with up to 25% jitter."""
        rng = np.random.default_rng(self.seed)
        out = []
        for attempt in range(self.max_retries):
            d = min(self.max_delay, self.base_delay * (2.0**attempt))
            out.append(float(d * (1.0 + 0.25 * rng.random())))
        return out


def with_retries(call: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """Run ``call``; retry retryable failures per ``policy``; auth failures raise WandbAuthError."""
    delays = policy.delays()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if is_auth_error(exc):
                raise WandbAuthError(
                    f"the W&B server rejected the API key while {what}: {describe(exc)}", hint=AUTH_HINT
                ) from None
            if attempt >= len(delays) or not is_retryable(exc):
                raise
            log.info("%s failed (%s); retry %d/%d in %.2fs", what, describe(exc), attempt + 1, len(delays),
                     delays[attempt])
            time.sleep(delays[attempt])
            attempt += 1
