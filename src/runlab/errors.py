"""Named exceptions. Every error says what is wrong, with which thing, and what to do.

The CLI turns any :class:`RunlabError` into a one-paragraph message and a non-zero exit,
without a traceback (``--debug`` shows it). Library callers catch the specific class.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class RunlabError(Exception):
    """Base class: ``message`` names the thing and the problem, ``hint`` says how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class InputError(RunlabError, ValueError):
    """A user-supplied value (argument, config entry, data) is invalid."""


class NotFoundError(RunlabError, LookupError):
    """A run, metric, sweep, file or other named thing does not exist."""


class CorruptRunFileError(RunlabError):
    """A run file is not what it claims to be, or is damaged beyond recovery."""


class WandbAuthError(RunlabError):
    """The W&B API key is missing or rejected."""


class FetchError(RunlabError):
    """Talking to a remote source failed after retries."""


class WarehouseError(RunlabError):
    """The warehouse cannot be read or written (permissions, schema version, lock)."""


__all__ = [
    "CorruptRunFileError",
    "FetchError",
    "InputError",
    "NotFoundError",
    "RunlabError",
    "WandbAuthError",
    "WarehouseError",
]


def closest(text: str, candidates: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``text``, for the 'did you mean' of an error's hint."""
    return difflib.get_close_matches(text, list(dict.fromkeys(candidates)), n=n, cutoff=0.5)


def did_you_mean(text: str, candidates: Sequence[str], fallback: str | None = None) -> str | None:
    """``did you mean: 'a', 'b'`` for the closest candidates, else ``fallback``."""
    near = closest(text, candidates)
    return f"did you mean: {', '.join(map(repr, near))}" if near else fallback
