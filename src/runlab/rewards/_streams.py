"""The one container every part of ``runlab.rewards`` reads: ordered per-(task, seed) reward streams.

Rows may arrive in any order and from any source; :func:`normalize_streams` turns them into one
DataFrame sorted by ``group, task, seed, sample_index`` where ``sample_index`` counts 0, 1, 2, ...
within each stream (sample 0 is that task's first completion in that seed). Bad rows are never
silently lost: non-finite rewards are dropped *and counted*, duplicate sample indices are kept (in
a stable order) and reported, each with the stream it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from runlab.errors import InputError

#: Columns of :attr:`RewardStreams.data`, in order.
STREAM_COLUMNS = ("group", "task", "seed", "run_id", "sample_index", "raw_sample_index", "episode",
                  "agent_step", "sps", "reward", "stream")
REQUIRED = ("task", "seed", "sample_index", "reward")


@dataclass(frozen=True)
class StreamProblem:
    """Something wrong with one stream's input, and what was done about it."""

    kind: str
    """``nonfinite`` (rows dropped), ``duplicate_index`` (kept, order by episode then input order),
    ``short`` (fewer samples than a window) or ``variance`` (a variance part could not be computed)."""
    group: str
    task: str
    seed: str
    count: int
    message: str


@dataclass(frozen=True)
class RewardStreams:
    """Per-(group, task, seed) reward streams in completion order.

    ``data`` has :data:`STREAM_COLUMNS` (``stream`` numbers the streams 0, 1, ... in order); ``group`` is ``""`` unless streams were grouped (e.g. by
    curriculum). ``seed`` is a string so that seeds from configs and files compare equal.
    ``metadata`` maps ``(group, task, seed)`` to what is known about the stream's run (env config,
    agent version, time); ``problems`` lists what was wrong with the input.
    """

    data: pd.DataFrame
    metadata: Mapping[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)
    problems: tuple[StreamProblem, ...] = ()

    @property
    def keys(self) -> list[tuple[str, str, str]]:
        """``(group, task, seed)`` of every stream, in data order."""
        d = self.data.drop_duplicates(["group", "task", "seed"])
        return list(zip(d["group"], d["task"], d["seed"], strict=True))

    @property
    def tasks(self) -> list[str]:
        """Distinct task names, in data order."""
        return list(dict.fromkeys(self.data["task"]))

    def __len__(self) -> int:
        return len(self.keys)

    def episodes(self, group: str | None = None, seed: str | None = None) -> pd.DataFrame:
        """One run's episode stream for :func:`runlab.rewards.replay`: ``episode, task, reward`` (+ ``sps``)
        in completion order. Without a logged ``episode`` column, completion order falls back to
        ``agent_step`` and then to interleaving the tasks' streams by sample index."""
        d = self.data
        if group is not None:
            d = d[d["group"] == group]
        seeds = list(dict.fromkeys(d["seed"]))
        if seed is None:
            if len(seeds) != 1:
                raise InputError(f"{len(seeds)} seeds in the selection; pick one of {seeds[:10]}",
                                 hint="pass seed=... (and group=... when streams are grouped)")
            seed = seeds[0]
        d = d[d["seed"] == str(seed)]
        if d.empty:
            raise InputError(f"no stream with seed {seed!r} (group {group!r})", hint=f"seeds: {seeds[:10]}")
        order = [c for c in ("episode", "agent_step") if d[c].notna().all()] + ["sample_index", "task"]
        out = d.sort_values(order, kind="stable").reset_index(drop=True)
        return pd.DataFrame({"episode": np.arange(len(out)), "task": out["task"].to_numpy(),
                             "reward": out["reward"].to_numpy(), "sps": out["sps"].to_numpy()})


def _stream_problem(kind: str, key: tuple[str, str, str], count: int, what: str) -> StreamProblem:
    group, task, seed = key
    where = f"task {task!r}, seed {seed}" + (f", group {group!r}" if group else "")
    return StreamProblem(kind, group, task, seed, count, f"{where}: {what}")


def normalize_streams(rows: pd.DataFrame, *, metadata: Mapping[tuple[str, str, str], Mapping[str, Any]] | None = None,
                      source: str = "input") -> RewardStreams:
    """Validate and order raw stream rows (any order, columns :data:`REQUIRED` at least).

    Optional columns: ``group``, ``run_id``, ``episode`` (global completion order in the run),
    ``agent_step``, ``sps``. Two different runs may not feed the same ``(group, task, seed)``:
    that is an error naming both, since merging them would interleave two trainings.
    """
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise InputError(f"{source} lacks column(s) {missing}; it has {list(rows.columns)[:12]}",
                         hint="reward streams need columns task, seed, sample_index, reward "
                         "(optional: episode, agent_step, sps, group, run_id)")
    d = pd.DataFrame({
        "group": rows["group"].astype(str) if "group" in rows else "",
        "task": rows["task"].astype(str),
        "seed": rows["seed"].map(_seed_text),
        "run_id": rows["run_id"].astype(str) if "run_id" in rows else "",
        "raw_sample_index": pd.to_numeric(rows["sample_index"], errors="coerce").astype(float),
        "episode": pd.to_numeric(rows["episode"], errors="coerce").astype(float) if "episode" in rows else np.nan,
        "agent_step": pd.to_numeric(rows["agent_step"], errors="coerce").astype(float) if "agent_step" in rows else np.nan,
        "sps": pd.to_numeric(rows["sps"], errors="coerce").astype(float) if "sps" in rows else np.nan,
        "reward": pd.to_numeric(rows["reward"], errors="coerce").astype(float),
    })
    d["_order"] = np.arange(len(d))
    if d["raw_sample_index"].isna().any():
        bad = d[d["raw_sample_index"].isna()].iloc[0]
        raise InputError(f"{source}: sample_index is missing or not a number in "
                         f"{int(d['raw_sample_index'].isna().sum())} row(s) (first: task {bad['task']!r})",
                         hint="every row needs the per-task sample index of its episode")
    _check_one_run_per_stream(d, source)
    problems: list[StreamProblem] = []
    finite = np.isfinite(d["reward"].to_numpy(dtype=float))
    keys = ["group", "task", "seed"]
    if not finite.all():
        for key, n in d[~finite].groupby(keys, sort=False).size().items():
            problems.append(_stream_problem("nonfinite", key, int(n), f"{n} NaN/inf reward(s) dropped"))
        d = d[finite]
    d = d.sort_values([*keys, "raw_sample_index", "episode", "_order"], kind="stable")
    dup = d.duplicated([*keys, "raw_sample_index"], keep=False)
    if dup.any():
        for key, n in d[dup].groupby(keys, sort=False).size().items():
            problems.append(_stream_problem("duplicate_index", key, int(n),
                                            f"{n} rows share a sample_index; kept all, ordered by episode"))
    grouped = d.groupby(keys, sort=False)
    d["sample_index"] = grouped.cumcount().astype(np.int64)
    d["stream"] = grouped.ngroup().astype(np.int64)  # 0, 1, 2, ... in data order (data is sorted)
    d = d[list(STREAM_COLUMNS)].reset_index(drop=True)
    return RewardStreams(data=d, metadata=dict(metadata or {}), problems=tuple(problems))


def _check_one_run_per_stream(d: pd.DataFrame, source: str) -> None:
    runs = d.groupby(["group", "task", "seed"], sort=False)["run_id"].nunique()
    clash = runs[runs > 1]
    if len(clash):
        group, task, seed = clash.index[0]
        ids = sorted(d[(d["group"] == group) & (d["task"] == task) & (d["seed"] == seed)]["run_id"].unique())
        raise InputError(f"{source}: runs {ids[:4]} all give task {task!r} seed {seed}"
                         + (f" in group {group!r}" if group else ""),
                         hint="split them with group_by=<config path> (CLI: --group-by), e.g. "
                         "trainer.curriculum.algorithm, or select fewer runs")


def _seed_text(value: Any) -> str:
    """Seeds as text: ``1``, ``1.0`` and ``"1"`` are the same seed."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
