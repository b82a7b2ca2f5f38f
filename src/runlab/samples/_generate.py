"""``generate_samples``: train every set, write its runs, ship it with a manifest.

Training jobs (one per SB3 run, one for the curriculum batch, one per curves batch shape) and the
W&B writes of batched runs are spread over a pool of ``workers`` processes, since both training
and the wandb client are CPU-bound. Each set is built in a hidden staging directory and swapped in
whole, so an interrupted generation never leaves a half-written set behind.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from runlab.errors import InputError
from runlab.samples._manifest import (
    GENERATOR_VERSION,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    file_table,
    library_versions,
    machine,
    read_manifest,
    write_manifest,
)
from runlab.samples._ppo import PPOShape
from runlab.samples._readme import write_readme
from runlab.samples._set_benchmark import ALGORITHMS, BenchmarkJob, run_benchmark_job
from runlab.samples._set_curriculum import CurriculumSetConfig, curriculum_run_logs
from runlab.samples._set_curves import CurvesSetConfig, group_specs, sample_curve_specs, train_curve_group
from runlab.samples._set_tensorboard import TensorBoardSetConfig, generate_tensorboard_set
from runlab.samples._wandb_io import RunLog, tidy_wandb_dir, write_run_log

SETS = ("benchmark", "curriculum", "curves", "tensorboard")


@dataclass(frozen=True, kw_only=True)
class BenchmarkSetConfig:
    """Size of the benchmark set."""

    algorithms: tuple[str, ...] = ALGORITHMS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    total_timesteps: int = 40_000
    log_every: int = 1_000
    eval_every: int = 4_000
    eval_episodes: int = 5


@dataclass(frozen=True, kw_only=True)
class GenerateConfig:
    """Budgets of all three sets; :meth:`full`, :meth:`quick` and :meth:`tiny` are the presets."""

    profile: str = "full"
    benchmark: BenchmarkSetConfig = field(default_factory=BenchmarkSetConfig)
    curriculum: CurriculumSetConfig = field(default_factory=CurriculumSetConfig)
    curves: CurvesSetConfig = field(default_factory=CurvesSetConfig)
    tensorboard: TensorBoardSetConfig = field(default_factory=TensorBoardSetConfig)

    @classmethod
    def full(cls) -> GenerateConfig:
        """The shipped project: 3 algorithms x 5 seeds, 2 samplers x 3 seeds, 320 curves."""
        return cls()

    @classmethod
    def quick(cls) -> GenerateConfig:
        """A small but complete project in a few minutes on 2 cores."""
        return cls(
            profile="quick",
            benchmark=BenchmarkSetConfig(seeds=(0, 1), total_timesteps=5_000, log_every=500, eval_every=2_500,
                                         eval_episodes=2),
            curriculum=CurriculumSetConfig(seeds=(0,), total_timesteps=8_192, eval_every=4,
                                           shape=PPOShape(num_envs=8, n_steps=64)),
            curves=CurvesSetConfig(num_runs=16, total_timesteps=8_192, num_offline_runs=2, eval_every=4),
            tensorboard=TensorBoardSetConfig(seeds=(1,), total_timesteps=8_192, eval_every=4, profile="quick"),
        )

    @classmethod
    def tiny(cls) -> GenerateConfig:
        """The smallest complete project, for tests."""
        return cls(
            profile="tiny",
            benchmark=BenchmarkSetConfig(seeds=(0,), total_timesteps=1_300, log_every=256, eval_every=512,
                                         eval_episodes=1),
            curriculum=CurriculumSetConfig(seeds=(0,), total_timesteps=2_048, eval_every=2,
                                           shape=PPOShape(num_envs=4, n_steps=64, num_minibatches=2,
                                                          update_epochs=2)),
            curves=CurvesSetConfig(num_runs=8, total_timesteps=1_024, num_envs=4, num_offline_runs=1,
                                   eval_every=4, eval_episodes=1),
            tensorboard=TensorBoardSetConfig.tiny(),
        )


class _InlineExecutor(Executor):
    """Runs submitted work immediately (``workers=1``): no process start-up cost."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # surfaced by fut.result()
            fut.set_exception(exc)
        return fut


def _write_logs(logs: list[RunLog], root: Path) -> list[str]:
    return [write_run_log(log, root) for log in logs]


def _chunks(logs: list[RunLog], n: int) -> Iterable[list[RunLog]]:
    n = max(1, min(n, len(logs)))
    return (logs[i::n] for i in range(n) if logs[i::n])


def _benchmark_jobs(cfg: BenchmarkSetConfig) -> list[BenchmarkJob]:
    # DQN first: it is the slowest, so it should not start last
    order = sorted(cfg.algorithms, key=lambda a: a != "dqn")
    return [
        BenchmarkJob(algorithm=a, seed=s, total_timesteps=cfg.total_timesteps, log_every=cfg.log_every,
                     eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
        for a in order for s in cfg.seeds
    ]


def _write_curves(stage: Path, results: list[dict[str, Any]]) -> dict[str, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list[Any]] = {"run_id": [], "agent_step": [], "epoch": [], "reward": []}
    runs: list[dict[str, Any]] = []
    for r in results:
        for k in cols:
            cols[k].extend(r["curves"][k])
        runs.extend(r["runs"])
    runs.sort(key=lambda r: r["run_id"])
    curves = pa.table({
        "run_id": pa.array(cols["run_id"], pa.string()),
        "agent_step": pa.array(cols["agent_step"], pa.int64()),
        "epoch": pa.array(cols["epoch"], pa.int32()),
        "reward": pa.array(cols["reward"], pa.float64()),
    }).sort_by([("run_id", "ascending"), ("agent_step", "ascending")])
    stage.mkdir(parents=True, exist_ok=True)
    pq.write_table(curves, stage / "curves.parquet", compression="zstd")
    pq.write_table(pa.Table.from_pylist(runs), stage / "runs.parquet", compression="zstd")
    return {"curve_runs": len(runs), "curve_rows": curves.num_rows}


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out must be a directory, got the file {out}")
    leftovers = (".staging-", ".wandb-data")  # from an interrupted generation: cleaned up below
    if out.is_dir() and not (out / MANIFEST_NAME).exists() and any(
        not p.name.startswith(leftovers) for p in out.iterdir()
    ):
        raise InputError(
            f"{out} is not empty and holds no {MANIFEST_NAME}: refusing to write sample sets into it",
            hint="choose an empty or new directory for --out",
        )
    out.mkdir(parents=True, exist_ok=True)


def generate_samples(
    out: Path,
    *,
    config: GenerateConfig | None = None,
    sets: Iterable[str] = SETS,
    workers: int = 1,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate the sample project's ``sets`` under ``out``; returns the written manifest.

    Sets not regenerated keep their files and manifest entries. ``command`` is recorded as is.
    The TensorBoard set (CleanRL-style runs logged by ``SummaryWriter``, no W&B) is written after the
    W&B sets and added to the same manifest.
    """
    config = config or GenerateConfig.full()
    sets = tuple(dict.fromkeys(sets))
    bad = [s for s in sets if s not in SETS]
    if bad or not sets:
        raise InputError(f"sets must be among {', '.join(SETS)}, got {', '.join(bad) or 'none'}")
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    out = Path(out)
    _prepare_out(out)
    say = progress or (lambda _msg: None)
    tensorboard = "tensorboard" in sets
    sets = tuple(s for s in sets if s != "tensorboard")
    manifest: dict[str, Any] = {}
    if sets:
        manifest = _generate_wandb_sets(out, config, sets, workers, command, say)
    if tensorboard:
        say("tensorboard: training CleanRL-style PPO runs")
        manifest = generate_tensorboard_set(out, config.tensorboard, command=command)
    return manifest


def _generate_wandb_sets(out: Path, config: GenerateConfig, sets: tuple[str, ...], workers: int, command: str,
                         say: Callable[[str], None]) -> dict[str, Any]:
    """The sets written through the real wandb client, trained in a pool, staged and renamed."""
    t_start = time.perf_counter()
    stages = {s: out / f".staging-{s}" for s in sets}
    for stage in stages.values():
        shutil.rmtree(stage, ignore_errors=True)
    data_dir = out / ".wandb-data"
    # offline artifact staging goes under out (inherited by worker processes), not the user's home
    saved = {k: os.environ.get(k) for k in ("WANDB_DATA_DIR", "WANDB_SILENT")}
    os.environ.update(WANDB_DATA_DIR=str(data_dir.resolve()), WANDB_SILENT="true")
    ctx = get_context("spawn")
    pool: Executor = _InlineExecutor() if workers == 1 else ProcessPoolExecutor(workers, mp_context=ctx)
    try:
        info = _run_sets(pool, config, stages, workers, say)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    for name, stage in stages.items():
        tidy_wandb_dir(stage)
        info[name]["offline_runs"] = len(list((stage / "wandb").glob("offline-run-*")))
        final = out / name
        if final.exists():
            shutil.rmtree(final)
        stage.rename(final)
    return _finish_manifest(out, config, info, sets, command, time.perf_counter() - t_start, workers)


def _run_sets(
    pool: Executor, config: GenerateConfig, stages: dict[str, Path], workers: int, say: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Submit every training job, then the writes of batched runs as their training finishes."""
    t0 = time.perf_counter()
    pending: dict[Future[Any], tuple[str, str]] = {}
    info: dict[str, dict[str, Any]] = {s: {"wall_time_s": 0.0} for s in stages}
    if "curves" in stages:
        specs = sample_curve_specs(config.curves)
        for i, group in enumerate(group_specs(specs)):
            pending[pool.submit(train_curve_group, config.curves, i, group)] = ("curves", "train")
    if "curriculum" in stages:
        pending[pool.submit(curriculum_run_logs, config.curriculum)] = ("curriculum", "train")
    if "benchmark" in stages:
        for job in _benchmark_jobs(config.benchmark):
            pending[pool.submit(run_benchmark_job, job, stages["benchmark"])] = ("benchmark", "run")
    curve_results: list[dict[str, Any]] = []
    while pending:
        fut = next(as_completed(pending))
        name, kind = pending.pop(fut)
        result = fut.result()
        info[name]["wall_time_s"] = round(time.perf_counter() - t0, 1)
        if kind == "run":
            say(f"{name}: wrote run {result}")
            continue
        if kind == "write":
            say(f"{name}: wrote runs {', '.join(result)}")
            continue
        logs = result if name == "curriculum" else result["logs"]
        if name == "curves":
            curve_results.append(result)
        say(f"{name}: trained a batch ({len(logs)} runs to write)")
        for chunk in _chunks(logs, workers):
            pending[pool.submit(_write_logs, chunk, stages[name])] = (name, "write")
    if "curves" in stages:
        info["curves"] |= _write_curves(stages["curves"], curve_results)
    return info


def seeds_of(sets_info: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every seed the sets were generated with, gathered from their configs."""
    out: dict[str, Any] = {}
    for name, info in sets_info.items():
        cfg = info.get("config", {})
        out[name] = {k: v for k, v in cfg.items() if "seed" in k}
    return out


def _finish_manifest(
    out: Path, config: GenerateConfig, info: dict[str, dict[str, Any]], sets: tuple[str, ...], command: str,
    wall: float, workers: int,
) -> dict[str, Any]:
    try:
        old = read_manifest(out)
    except Exception:
        old = {"sets": {}}
    cfg = json.loads(json.dumps(asdict(config)))
    sets_info = dict(old.get("sets", {}))
    for name in sets:
        sets_info[name] = {**info[name], "config": cfg[name], "profile": config.profile}
    manifest = {
        "format": MANIFEST_FORMAT,
        "generator": "runlab.samples.generate_samples",
        "generator_version": GENERATOR_VERSION,
        "command": command,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 1),
        "workers": workers,
        "machine": machine(),
        "libraries": library_versions(),
        "sets": sets_info,
        "seeds": seeds_of(sets_info),
        "files": {},
    }
    write_readme(out, sets_info)
    manifest["files"] = file_table(out)
    manifest["total_bytes"] = sum(f["size"] for f in manifest["files"].values())
    write_manifest(out, manifest)
    return manifest

