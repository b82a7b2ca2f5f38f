"""Turning what a user types (ids, short ids, names, globs) into run ids and metric names."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from runlab.errors import InputError, NotFoundError, closest

GLOB_CHARS = frozenset("*?[")


def short_id(run_id: str) -> str:
    """The last path part of a run id: ``wandb:ent/proj/abc123`` -> ``abc123``."""
    if "/" in run_id:
        return run_id.rsplit("/", 1)[-1]
    return run_id.split(":", 1)[-1]


def is_glob(text: str) -> bool:
    """True when ``text`` uses glob wildcards (``*``, ``?``, ``[...]``)."""
    return any(c in GLOB_CHARS for c in text)


def glob_match(pattern: str, text: str) -> bool:
    """Case-sensitive glob match (``*`` also crosses ``/``, as in W&B metric groups)."""
    return re.fullmatch(fnmatch.translate(pattern), text, flags=re.DOTALL) is not None


def _matches(ref: str, runs: Sequence[tuple[str, str]]) -> list[str]:
    """Run ids that ``ref`` names: exact id, then short id, then name, then as a glob over all three.

    Exact matches come first so that names containing ``*``, ``?`` or ``[`` still find their run.
    """
    for key in (lambda rid, name: rid, lambda rid, name: short_id(rid), lambda rid, name: name):
        hits = [rid for rid, name in runs if key(rid, name) == ref]
        if hits:
            return hits
    if is_glob(ref):
        return [rid for rid, name in runs if glob_match(ref, name) or glob_match(ref, rid)
                or glob_match(ref, short_id(rid))]
    return []


def _not_found(ref: str, runs: Sequence[tuple[str, str]]) -> NotFoundError:
    names = [name for _, name in runs if name] + [short_id(rid) for rid, _ in runs]
    near = closest(ref, names)
    hint = f"did you mean: {', '.join(repr(s) for s in near)}" if near else "see `runlab runs list`"
    return NotFoundError(f"no run matches {ref!r} (by id, short id, name or glob)", hint=hint)


def resolve_refs(refs: Sequence[str], runs: Sequence[tuple[str, str]]) -> list[str]:
    """All run ids selected by ``refs`` in order of first mention; a ref matching nothing is an error."""
    out: dict[str, None] = {}
    for ref in refs:
        hits = _matches(ref, runs)
        if not hits:
            raise _not_found(ref, runs)
        out.update(dict.fromkeys(hits))
    return list(out)


def resolve_one(ref: str, runs: Sequence[tuple[str, str]]) -> str:
    """The single run ``ref`` names; ambiguous names list the candidates' ids."""
    hits = _matches(ref, runs)
    if not hits:
        raise _not_found(ref, runs)
    if len(hits) > 1:
        shown = ", ".join(hits[:5]) + (" ..." if len(hits) > 5 else "")
        raise InputError(
            f"{ref!r} matches {len(hits)} runs: {shown}",
            hint="use the full run id (see `runlab runs list`)",
        )
    return hits[0]


def match_metrics(patterns: Sequence[str], names: Sequence[str]) -> list[str]:
    """Expand metric patterns against known names: exact names stay, globs expand (sorted).

    A name that exists literally is never treated as a glob, so metrics with ``[`` in them work.
    """
    known = set(names)
    out: dict[str, None] = {}
    for pat in patterns:
        if pat in known or not is_glob(pat):
            out[pat] = None
            continue
        out.update(dict.fromkeys(sorted(n for n in known if glob_match(pat, n))))
    return list(out)
