"""``load_streams``: reward streams from the warehouse, a CSV/Parquet file, or a folder ``pull`` wrote.

From the warehouse, the reward metric is a pattern with a ``<task>`` placeholder (default
``env_task_reward/<task>``); the episode's per-task index is the metric with ``/sample_index``
appended when logged (otherwise history order within the run). The episode's global completion
order is its rank among all the run's reward rows; SPS is the last value of the SPS metric logged
at or before the episode's step (the trainer logs it once per epoch).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runlab.configpath import config_value
from runlab.errors import InputError, NotFoundError
from runlab.rewards._streams import RewardStreams, normalize_streams

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

DEFAULT_METRIC = "env_task_reward/<task>"
INDEX_SUFFIX = "/sample_index"

def load_streams(
    source: Warehouse | str | Path,
    *,
    runs: Sequence[str] | None = None,
    metric: str = DEFAULT_METRIC,
    seed_path: str = "seed",
    group_by: str | None = None,
    sps_metric: str | None = "overview/sps",
    x_axis: str = "metric/agent_step",
) -> RewardStreams:
    """Reward streams from ``source``: a :class:`~runlab.warehouse.Warehouse` (``runs`` selects runs by
    id, name or glob), a ``.csv``/``.parquet`` file with columns ``task, seed, sample_index, reward``
    (optional ``episode, agent_step, sps, group, run_id``), or a folder written by
    :func:`runlab.rewards.pull_streams`.

    ``seed_path`` and ``group_by`` are dotted config paths (warehouse only); ``group_by`` keeps runs
    that share a seed apart (e.g. ``trainer.curriculum.algorithm``).
    """
    if isinstance(source, str | Path):
        return _from_path(Path(source))
    return _from_warehouse(source, runs=runs, metric=metric, seed_path=seed_path, group_by=group_by,
                           sps_metric=sps_metric, x_axis=x_axis)

def _from_path(path: Path) -> RewardStreams:
    if path.is_dir():
        return _from_pulled_dir(path)
    if not path.is_file():
        raise NotFoundError(f"no reward-stream file or folder at {path}",
                            hint="pass a .csv/.parquet file or a folder written by `runlab rewards pull`")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = pd.read_csv(path, dtype={"task": str, "group": str, "run_id": str, "seed": str},
                           keep_default_na=False, na_values={"reward": ["", "nan", "NaN"]},
                           float_precision="round_trip")
    elif suffix in (".parquet", ".pq"):
        rows = pd.read_parquet(path)
    else:
        raise InputError(f"{path.name}: reward streams must be .csv or .parquet, got {suffix or 'no suffix'!r}")
    return normalize_streams(rows, source=str(path))

def _from_pulled_dir(path: Path) -> RewardStreams:
    meta_file = path / "metadata.json"
    if not meta_file.is_file():
        raise NotFoundError(f"{path} has no metadata.json", hint="pass a folder written by `runlab rewards pull`")
    meta = json.loads(meta_file.read_text())
    frames, metadata = [], {}
    root = (path / "streams").resolve()
    for entry in meta.get("streams", []):
        file = (path / entry["path"]).resolve()
        if root not in file.parents:
            raise InputError(f"metadata.json names {entry['path']!r}, which is outside {root}",
                             hint="metadata.json was edited or damaged; pull the streams again")
        part = pd.read_parquet(file)
        if "raw_sample_index" in part:  # the order as logged, so loading again renumbers identically
            part["sample_index"] = part.pop("raw_sample_index")
        part["task"], part["seed"], part["group"] = entry["task"], entry["seed"], entry.get("group", "")
        frames.append(part)
        metadata[(entry.get("group", ""), entry["task"], entry["seed"])] = entry
    if not frames:
        raise InputError(f"{meta_file} lists no streams")
    return normalize_streams(pd.concat(frames, ignore_index=True), metadata=metadata, source=str(path))

def metric_regex(metric: str) -> re.Pattern[str]:
    """``env_task_reward/<task>`` -> a regex whose ``task`` group captures the task name."""
    if metric.count("<task>") != 1:
        raise InputError(f"metric pattern {metric!r} must contain <task> exactly once",
                         hint="e.g. env_task_reward/<task>")
    head, tail = metric.split("<task>")
    return re.compile(f"^{re.escape(head)}(?P<task>.+){re.escape(tail)}$")

def _from_warehouse(wh: Warehouse, *, runs: Sequence[str] | None, metric: str, seed_path: str,
                    group_by: str | None, sps_metric: str | None, x_axis: str) -> RewardStreams:
    ids = wh.resolve_runs(list(runs) if runs else None)
    rx = metric_regex(metric)
    names = wh.metric_names(ids)
    rewards = [m for m in names["metric"].unique() if rx.match(m) and not _is_index(m, rx)]
    if not rewards:
        raise NotFoundError(f"no metric matches {metric!r} in the {len(ids)} selected run(s)",
                            hint="check --runs and --metric (e.g. env_task_reward/<task>)")
    index_names = [m + INDEX_SUFFIX for m in rewards if m + INDEX_SUFFIX in set(names["metric"])]
    hist = wh.history(ids, rewards + index_names, x_axis=x_axis)
    info = wh.runs(sorted(set(hist["run_id"])))
    rows = _episode_rows(hist, set(rewards), rx)
    if sps_metric and sps_metric in set(names["metric"]):
        rows = _attach_sps(rows, wh.history(sorted(set(rows["run_id"])), [sps_metric]))
    cfg = dict(zip(info["run_id"], info["config"], strict=True))
    rows["seed"] = rows["run_id"].map(lambda r: _seed_of(cfg[r], seed_path, r))
    rows["group"] = rows["run_id"].map(lambda r: "" if not group_by else str(config_value(cfg[r], group_by, "")))
    streams = normalize_streams(rows, source="the warehouse")
    metadata = _metadata(streams, info)
    return RewardStreams(data=streams.data, metadata=metadata, problems=streams.problems)

def _is_index(name: str, rx: re.Pattern[str]) -> bool:
    return name.endswith(INDEX_SUFFIX) and bool(rx.match(name[: -len(INDEX_SUFFIX)]))

def _episode_rows(hist: pd.DataFrame, rewards: set[str], rx: re.Pattern[str]) -> pd.DataFrame:
    """One row per logged episode: run, step, task, reward, sample index, agent step, episode rank."""
    is_reward = hist["metric"].isin(rewards)
    rew = hist[is_reward].copy()
    idx = hist[~is_reward].copy()
    rew["task"] = rew["metric"].map(lambda m: rx.match(m).group("task"))  # type: ignore[union-attr]
    idx["metric"] = idx["metric"].str.slice(0, -len(INDEX_SUFFIX))
    idx = idx.rename(columns={"value": "sample_index"})[["run_id", "step", "metric", "sample_index"]]
    rew = rew.merge(idx, on=["run_id", "step", "metric"], how="left")
    rew = rew.sort_values(["run_id", "step"], kind="stable")
    fallback = rew.groupby(["run_id", "metric"], sort=False).cumcount()
    rew["sample_index"] = rew["sample_index"].fillna(fallback.astype(float))
    rew["episode"] = rew.groupby("run_id", sort=False).cumcount()
    rew["agent_step"] = rew.get("x", np.nan)
    return rew.rename(columns={"value": "reward"})[
        ["run_id", "step", "task", "sample_index", "episode", "agent_step", "reward"]]

def _attach_sps(rows: pd.DataFrame, sps: pd.DataFrame) -> pd.DataFrame:
    """The last SPS logged at or before each episode's step (none before the first SPS row)."""
    sps = sps[["run_id", "step", "value"]].rename(columns={"value": "sps"}).sort_values("step")
    rows = rows.sort_values("step", kind="stable")
    out = pd.merge_asof(rows, sps, on="step", by="run_id", direction="backward")
    return out.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)

def _seed_of(config: dict[str, Any], path: str, run_id: str) -> Any:
    seed = config_value(config, path)
    if seed is None:
        raise InputError(f"run {run_id} has no config value at {path!r} for its seed",
                         hint="pass the seed's config path with seed_path=... (CLI: --seed-path)")
    return seed

def _metadata(streams: RewardStreams, info: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, Any]]:
    by_run = info.set_index("run_id")
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    first = streams.data.drop_duplicates(["group", "task", "seed"])
    for g, t, s, r in zip(first["group"], first["task"], first["seed"], first["run_id"], strict=True):
        row = by_run.loc[r]
        cfg = row["config"]
        out[(g, t, s)] = {
            "group": g, "task": t, "seed": s, "run_id": r, "run_name": row.get("name"),
            "env_config": config_value(cfg, "env", {}),
            "agent_version": _first_value(cfg, ["agent.version", "policy.version", "trainer.version",
                                                "agent.name", "trainer.algorithm"]),
            "created_at": None if pd.isna(row.get("created_at")) else row["created_at"].isoformat(),
        }
    return out

def _first_value(config: dict[str, Any], paths: list[str]) -> Any:
    for p in paths:
        v = config_value(config, p)
        if v is not None:
            return v
    return None
