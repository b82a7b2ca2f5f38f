"""Named exceptions. Every error says what is wrong, with which thing, and what to do.

The CLI turns any :class:`RunlabError` into a one-paragraph message and a non-zero exit,
without a traceback (``--debug`` shows it). Library callers catch the specific class.
"""

from __future__ import annotations


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
