"""Recording which aggregates a callable computes, so the bootstrap can count instead of call.

A user's ``lambda x: np.array([iqm(x), mean(x)])`` is opaque to the engine: all it can do is call
it once per resample. But the aggregates it calls can say what they are. While a
:class:`Trace` is active (a context variable, so threads and nested calls stay separate), each
runlab aggregate decorated with :func:`traced` appends ``(kind, parameter, input, value)`` to it.
Only the outermost aggregate records (``iqm`` calling ``trimmed_mean`` is one call), and the
input is kept by identity, so a call on ``x[:5]`` or ``x * 100`` is seen to be on something else.
Outside a trace the decorator costs one context-variable lookup.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Call:
    """One recorded aggregate call: ``kind`` (engine name), its trim/gamma, input and result."""

    kind: str
    param: float
    scores: Any
    value: float


@dataclass
class Trace:
    """The aggregate calls made while the trace is active (outermost calls only)."""

    calls: list[Call] = field(default_factory=list)
    depth: int = 0


_ACTIVE: ContextVar[Trace | None] = ContextVar("runlab_stats_trace", default=None)


@contextmanager
def tracing() -> Iterator[Trace]:
    """Record the aggregate calls made inside the ``with`` block."""
    trace = Trace()
    token = _ACTIVE.set(trace)
    try:
        yield trace
    finally:
        _ACTIVE.reset(token)


def traced(kind: str, param: Callable[..., float]) -> Callable[[F], F]:
    """Decorate an aggregate ``f(scores, *args, **kwargs)`` so that an active trace records it.

    ``param(*args, **kwargs)`` gives the trim or gamma the call used (its own defaults applied).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(scores: Any, *args: Any, **kwargs: Any) -> Any:
            trace = _ACTIVE.get()
            if trace is None or trace.depth:
                return fn(scores, *args, **kwargs)
            trace.depth += 1
            try:
                value = fn(scores, *args, **kwargs)
            finally:
                trace.depth -= 1
            trace.calls.append(Call(kind, float(param(*args, **kwargs)), scores, value))
            return value

        return wrapper  # type: ignore[return-value]

    return decorate
