"""The sweep controller: ask the optimiser, dispatch trials, record observations, resume.

The controller is the only writer of observations. Its state is the store: on start it marks
trials of dead controllers ``stale``, rebuilds the optimiser by observing every finished trial
(pending and running ones count as pending, so parallel controllers do not repeat them), resumes
stale trials first, then allocates new run ids until the sweep holds ``max_trials`` trials. A
controller killed with SIGKILL therefore loses nothing that was recorded, and the same command
run again continues where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runlab.errors import InputError, RunlabError
from runlab.sweep._dispatch import BACKENDS, Dispatcher, make_dispatcher
from runlab.sweep._files import atomic_write_yaml
from runlab.sweep._objective import DEFAULT_SOURCES, ObjectiveSource
from runlab.sweep._optimizer import Optimizer, SearchExhaustedError, SweepOptimizer
from runlab.sweep._overrides import hydra_overrides
from runlab.sweep._protein import make_optimizer
from runlab.sweep._pruning import Pruner, PruningSpec
from runlab.sweep._store import FINISHED_STATES, SweepInfo, SweepStore, Trial, check_sweep_name, new_worker_id
from runlab.sweep._trial import EVAL_RESULTS_FILE, TrialOutcome, TrialSpec, failed_outcome

log = logging.getLogger(__name__)

#: Called with (event, trial, message); events: ``started``, ``resumed``, ``retry``, ``success``,
#: ``failure``, ``pruned``, ``stopped``.
EventHandler = Callable[[str, Trial | None, str], None]


def sweep_dir(home: Path, name: str) -> Path:
    """``<home>/sweeps/<name>``: the sweep's ``config.yaml``, default store and ``runs/``."""
    return Path(home) / "sweeps" / check_sweep_name(name)


def open_store(home: Path, name: str, url: str | None = None) -> SweepStore:
    """The sweep's store: ``url`` when given, else SQLite at ``<sweep dir>/sweep.db``."""
    return SweepStore(url if url else sweep_dir(home, name) / "sweep.db")


def init_sweep(
    home: Path, name: str, config: Mapping[str, Any] | str | Path, overrides: Sequence[str] = (),
    *, store_url: str | None = None, exist_ok: bool = False,
) -> SweepInfo:
    """Validate the config, write ``<sweep dir>/config.yaml`` and register the sweep in the store."""
    from runlab.sweep._space import load_sweep_config

    cfg = load_sweep_config(config, overrides)
    raw = _plain(cfg.raw)
    with open_store(home, name, store_url) as store:
        info = store.create_sweep(name, raw, exist_ok=exist_ok)
    atomic_write_yaml(sweep_dir(home, name) / "config.yaml", raw)
    return info


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True, kw_only=True)
class RunnerOptions:
    """How a sweep runs."""

    max_trials: int | None = None
    """Stop allocating once the sweep holds this many trials in all (``None``: until interrupted)."""
    parallel: int = 1
    """Trials running at once."""
    backend: str = "local"
    """``local`` (subprocesses here) or ``ray`` (Ray tasks): the dispatcher :func:`run_sweep` builds
    (a :class:`SweepRunner` is handed its dispatcher instead)."""
    ray_address: str | None = None
    """Ray cluster address for ``backend='ray'`` (``None``: start a local Ray)."""
    retries: int = 0
    """Extra attempts of a failed trial (same run id and suggestion) before it counts as failed."""
    max_consecutive_failures: int = 3
    """Stop after this many failed trials in a row (a broken command must not burn the budget)."""
    trial_timeout_s: float | None = None
    """Kill a trainer after this long; the attempt fails."""
    heartbeat_s: float = 5.0
    """How often running trials are heartbeated in the store."""
    stale_after_s: float = 120.0
    """A trial whose heartbeat is older than this is stale and may be resumed by any controller."""
    seed: int | None = None
    """Seed of the optimiser (mixed with the number of trials so far, so a resume draws anew)."""
    cwd: str | None = None
    """Working directory of trainers (``None``: the controller's, for the Ray backend too)."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables for trainers."""
    objective_sources: tuple[ObjectiveSource, ...] = DEFAULT_SOURCES
    """Where a trainer's objective is read from, in order: ``results.json``, the last JSON line on
    stdout, the W&B run summary (online or offline) under the trial folder."""
    pruner: Pruner | None = None
    """Stop trials early: while a trial runs, its progress lines are handed to this object, which
    stops the trial once it predicts the final score to be worse than the best so far (see
    :class:`runlab.sweep.Pruner`; ``runlab.curves.CurvePruner`` is one). ``None``: never prune."""
    prune_metric: str = "overview/reward"
    """Curve metric in the trainer's JSON progress lines on stdout (what the pruner's model predicts;
    its final value must be the sweep's objective, in the same units)."""
    prune_step_key: str = "agent_step"
    """The x-axis key of the progress lines."""
    prune_poll_s: float = 1.0
    """Seconds between looks at a running trial's progress."""

    def __post_init__(self) -> None:
        if self.max_trials is not None and self.max_trials < 1:
            raise InputError(f"--max-trials must be >= 1, got {self.max_trials}")
        if self.parallel < 1:
            raise InputError(f"--parallel must be >= 1, got {self.parallel}")
        if self.retries < 0:
            raise InputError(f"--retries must be >= 0, got {self.retries}")
        if self.max_consecutive_failures < 1:
            raise InputError(f"max_consecutive_failures must be >= 1, got {self.max_consecutive_failures}")
        if self.backend not in BACKENDS:
            raise InputError(f"--backend must be 'local' or 'ray', got {self.backend!r}")
        if self.heartbeat_s <= 0 or self.stale_after_s <= self.heartbeat_s:
            raise InputError(
                f"stale_after_s must exceed heartbeat_s > 0, got {self.stale_after_s} and {self.heartbeat_s}"
            )
        if self.pruner is not None and not isinstance(self.pruner, Pruner):
            raise InputError(f"pruner must have should_prune() and predicted_final(), got {self.pruner!r}")
        if not self.prune_poll_s > 0:
            raise InputError(f"prune_poll_s must be > 0, got {self.prune_poll_s}")


@dataclass(kw_only=True)
class SweepReport:
    """What one ``run`` did."""

    sweep: str
    successes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    """Trials the pruner stopped early."""
    resumed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """run id -> error, for this run's failures."""
    log_tails: dict[str, str] = field(default_factory=dict)
    stopped_reason: str = ""


class TooManyFailuresError(RunlabError):
    """The sweep stopped because trials kept failing; ``report`` holds every error."""

    def __init__(self, report: SweepReport, count: int) -> None:
        last = report.failures[-count:]
        lines = [f"  {rid}: {report.errors.get(rid, '?')}" for rid in last]
        tail = report.log_tails.get(last[-1], "") if last else ""
        super().__init__(
            f"sweep {report.sweep!r} stopped after {count} consecutive failed trials:\n" + "\n".join(lines)
            + (f"\nlast output of {last[-1]}:\n{tail}" if tail else ""),
            hint="fix the training command (run it by hand with the overrides in the trial's "
            "train_config_overrides.yaml), then run the same 'runlab sweep run' again to resume",
        )
        self.report = report


def rebuild_optimizer(config: Mapping[str, Any], trials: Sequence[Trial], *, seed: int | None) -> SweepOptimizer:
    """An optimiser that has observed every finished trial and holds active ones as pending."""
    opt = make_optimizer(dict(config), seed=seed)
    for trial in trials:
        _feed(opt, trial)
    return opt


def _feed(opt: Optimizer, trial: Trial) -> None:
    """Tell the optimiser about one stored trial (observe clears its pending entry).

    A trial the optimiser rejects (e.g. outside the bounds after the config was edited, or an
    imported W&B run) is skipped with a warning; it stays in the store untouched.
    """
    try:
        if trial.state == "success":
            opt.observe(trial.suggestion, score=float(trial.score), cost=_cost(trial), is_failure=False)  # type: ignore[arg-type]
        elif trial.state == "pruned":
            predicted = trial.results.get("_predicted_final")
            if isinstance(predicted, int | float) and math.isfinite(predicted):
                opt.observe(trial.suggestion, score=float(predicted), cost=_cost(trial), is_failure=False)
            else:
                opt.observe(trial.suggestion, score=None, cost=_cost(trial), is_failure=True)
        elif trial.state == "failure":
            opt.observe(trial.suggestion, score=None, cost=_cost(trial), is_failure=True)
        else:
            opt.mark_pending(trial.suggestion)
    except InputError as exc:
        log.warning("trial %s is not used by the optimiser: %s", trial.run_id, exc.message)


def _cost(trial: Trial) -> float:
    """Observations need a positive cost; a zero or missing one becomes a tiny positive cost."""
    if trial.cost is not None and math.isfinite(trial.cost):
        return max(float(trial.cost), 1e-9)
    return 1.0


def _derive_seed(seed: int | None, num_allocated: int) -> int | None:
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, num_allocated]).generate_state(1)[0])


class SweepRunner:
    """One controller of one sweep. ``run()`` blocks until the sweep is done or stopped.

    The three parts are handed in: the ``store`` (the sweep's state), a fresh ``optimizer`` of the
    sweep's config (``run`` teaches it every stored trial first) and the ``dispatcher`` that runs
    the trials (``run`` closes it when done, or aborts it when interrupted). :func:`run_sweep`
    builds the usual ones from a home folder and :class:`RunnerOptions`.
    """

    def __init__(
        self, store: SweepStore, optimizer: Optimizer, dispatcher: Dispatcher, *, name: str,
        command: Sequence[str], root: Path, options: RunnerOptions | None = None,
        on_event: EventHandler | None = None,
    ) -> None:
        _check_command(command)
        self.store = store
        self.optimizer = optimizer
        self.dispatcher = dispatcher
        self.name = name
        self.command = list(command)
        self.root = Path(root).absolute()  # trial folders must mean the same thing to a Ray worker
        self.options = options or RunnerOptions()
        # Trainers run in the controller's working directory, on Ray workers too (whose own differs).
        self.cwd = str(Path(self.options.cwd or os.getcwd()).absolute())
        self.on_event: EventHandler = on_event or (lambda _e, _t, _m: None)
        self.worker = new_worker_id()
        self.info = store.get_sweep(name)
        self.metric = str(self.info.config.get("metric", "score"))
        self.report = SweepReport(sweep=name)
        self._seen: dict[str, str] = {}  # run id -> state the optimiser knows it in
        self._running: dict[cf.Future[TrialOutcome], tuple[Trial, TrialSpec]] = {}
        self._held: set[str] = set()  # run ids this controller holds (allocated or claimed, unfinished)
        self._consecutive = 0
        self._exhausted = False

    # -- set-up ---------------------------------------------------------------------------
    def _start(self) -> None:
        stale = self.store.mark_stale(self.name, timeout_s=self.options.stale_after_s)
        if stale:
            log.info("sweep %s: %d stale trial(s) will be resumed: %s", self.name, len(stale), stale)
        trials = self.store.trials(self.name)
        for trial in trials:
            _feed(self.optimizer, trial)
        self._seen = {t.run_id: t.state for t in trials}
        self.store.set_command(self.name, self.command)

    def _sync(self) -> list[Trial]:
        """Teach the optimiser what other controllers did since the last look; return all trials."""
        trials = self.store.trials(self.name)
        mine = {t.run_id for t, _ in self._running.values()}
        for trial in trials:
            before = self._seen.get(trial.run_id)
            if trial.run_id in mine or before == trial.state:
                continue
            if trial.is_finished and before not in FINISHED_STATES:
                _feed(self.optimizer, trial)
            elif not trial.is_finished and before is None:
                self.optimizer.mark_pending(trial.suggestion)
            self._seen[trial.run_id] = trial.state
        return trials

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> SweepReport:
        """Run trials until ``max_trials`` are in the sweep, or failures stop it."""
        stopping = False
        try:
            self._start()
            while True:
                trials = self._sync()
                if not stopping:
                    self._fill_slots(trials)
                if not self._running:
                    break
                done, _ = cf.wait(list(self._running), timeout=self.options.heartbeat_s,
                                  return_when=cf.FIRST_COMPLETED)
                self.store.heartbeat([t.run_id for t, _ in self._running.values()], self.worker)
                for future in done:
                    self._handle(future)
                if self._consecutive >= self.options.max_consecutive_failures and not stopping:
                    stopping = True
                    self.report.stopped_reason = f"{self._consecutive} consecutive failures"
                    self.on_event("stopped", None, self.report.stopped_reason)
        except BaseException:
            self._abandon()
            raise
        self.dispatcher.close()
        if stopping:
            raise TooManyFailuresError(self.report, self.options.max_consecutive_failures)
        self.report.stopped_reason = self.report.stopped_reason or "done"
        return self.report

    def _fill_slots(self, trials: list[Trial]) -> None:
        free = self.options.parallel - len(self._running)
        stale = [t for t in trials if t.state == "stale"]
        total = len(trials)
        while free > 0:
            if stale:
                trial = stale.pop(0)
                if not self.store.claim_trial(trial.run_id, self.worker):
                    continue
                self._held.add(trial.run_id)
                trial = self.store.trial(trial.run_id)
                self.report.resumed.append(trial.run_id)
                event = "resumed"
            elif not self._exhausted and (self.options.max_trials is None or total < self.options.max_trials):
                try:
                    suggestion, _info = self.optimizer.suggest()
                except SearchExhaustedError:
                    self._exhausted = True
                    self.report.stopped_reason = "search space exhausted"
                    return
                # The store re-checks the total atomically: another controller may have filled it.
                allocated = self.store.try_allocate_trial(self.name, _plain(suggestion),
                                                          limit=self.options.max_trials, worker=self.worker)
                if allocated is None:
                    return
                self._held.add(allocated.run_id)
                trial = allocated
                self.optimizer.mark_pending(trial.suggestion)
                total += 1
                event = "started"
            else:
                return
            self._seen[trial.run_id] = "running"
            spec = self._spec(trial, trials)
            self._running[self.dispatcher.submit(spec)] = (trial, spec)
            self.on_event(event, trial, " ".join(spec.overrides))
            free -= 1

    def _spec(self, trial: Trial, trials: Sequence[Trial]) -> TrialSpec:
        return TrialSpec(
            run_id=trial.run_id, sweep=self.name, command=self.command,
            overrides=hydra_overrides(trial.suggestion), suggestion=trial.suggestion,
            trial_dir=str(self.root / "runs" / trial.run_id), metric=self.metric,
            timeout_s=self.options.trial_timeout_s, env=dict(self.options.env), cwd=self.cwd,
            objective_sources=self.options.objective_sources, pruning=self._pruning(trials),
        )

    def _pruning(self, trials: Sequence[Trial]) -> PruningSpec | None:
        """What a trial is watched with: the pruner and the best finished score now (none to beat
        before the first success, so the first trials always run to the end)."""
        opts = self.options
        scores = [float(t.score) for t in trials if t.state == "success" and t.score is not None
                  and math.isfinite(t.score)]
        if opts.pruner is None or not scores:
            return None
        goal = str(self.info.config.get("goal", "maximize"))
        best = max(scores) if goal == "maximize" else min(scores)
        return PruningSpec(pruner=opts.pruner, metric=opts.prune_metric, step_key=opts.prune_step_key,
                           best=best, direction=goal, poll_s=opts.prune_poll_s)

    def _handle(self, future: cf.Future[TrialOutcome]) -> None:
        trial, spec = self._running.pop(future)
        outcome = _outcome_of(future, spec)
        atomic_write_yaml(Path(spec.trial_dir) / EVAL_RESULTS_FILE, outcome.to_yaml_dict())
        attempts = self.store.trial(trial.run_id).attempts
        if not outcome.ok and outcome.pruned is None and attempts <= self.options.retries:
            self.store.restart_trial(trial.run_id, self.worker, error=outcome.error or "")
            self.on_event("retry", trial, outcome.error or "")
            self._running[self.dispatcher.submit(spec)] = (trial, spec)
            return
        done, message = self._record(trial, outcome)
        self._held.discard(trial.run_id)
        self._seen[trial.run_id] = done.state
        _feed(self.optimizer, done)
        self.on_event(done.state, done, message)

    def _record(self, trial: Trial, outcome: TrialOutcome) -> tuple[Trial, str]:
        """Store the final outcome of a trial; returns the stored trial and the event message."""
        results = {**outcome.results, "_wall_s": outcome.wall_s, "_source": outcome.source,
                   "_worker_pid": outcome.worker_pid}
        if outcome.ray_task:
            results["_ray_task"] = outcome.ray_task
        if outcome.pruned is not None:
            p = outcome.pruned
            results.update(_predicted_std=p.predicted_std, _progress_points=p.steps, _last_step=p.last_step)
            done = self.store.prune_trial(trial.run_id, predicted=p.predicted_mean, cost=outcome.cost,
                                          results=results)
            self._consecutive = 0
            self.report.pruned.append(trial.run_id)
            return done, (f"stopped at step {p.last_step:g}: predicted final {p.predicted_mean:.6g} "
                          f"± {p.predicted_std:.3g} cost={outcome.cost:.4g}")
        if outcome.ok and outcome.score is not None:
            done = self.store.finish_trial(trial.run_id, score=outcome.score, cost=outcome.cost, results=results)
            self._consecutive = 0
            self.report.successes.append(trial.run_id)
            return done, f"score={outcome.score:.6g} cost={outcome.cost:.4g}"
        error = outcome.error or "unknown error"
        done = self.store.fail_trial(trial.run_id, error=error, cost=outcome.cost, results=results)
        self._consecutive += 1
        self.report.failures.append(trial.run_id)
        self.report.errors[trial.run_id] = error
        self.report.log_tails[trial.run_id] = outcome.log_tail
        return done, outcome.error or ""

    def _abandon(self) -> None:
        """Interrupted: held trials become stale (resumable) and their trainers are stopped."""
        ids = sorted(self._held)
        self._running.clear()
        self.dispatcher.abort()
        try:
            if ids:
                self.store.release_trials(ids, self.worker)
        except RunlabError as exc:  # the store itself may be what failed
            log.warning("sweep %s: could not release trials %s: %s", self.name, ids, exc)


def _check_command(command: Sequence[str]) -> None:
    if not command:
        raise InputError("the training command is empty", hint="runlab sweep run NAME -- python train.py")


def _outcome_of(future: cf.Future[TrialOutcome], spec: TrialSpec) -> TrialOutcome:
    try:
        return future.result()
    except Exception as exc:  # a dispatcher failure (e.g. a Ray worker died) is the trial's failure
        return failed_outcome(spec, f"trial {spec.run_id}: worker failed: {exc}")


def run_sweep(
    home: Path, name: str, command: Sequence[str], *, options: RunnerOptions | None = None,
    store_url: str | None = None, on_event: EventHandler | None = None,
) -> SweepReport:
    """Open the sweep's store and run a controller (the library form of ``runlab sweep run``).

    The optimiser is the one the sweep config's ``method`` names, seeded from ``options.seed``
    mixed with the number of trials so far (so a resumed sweep draws anew); the dispatcher is
    the one ``options.backend`` names.
    """
    _check_command(command)
    opts = options or RunnerOptions()
    with open_store(home, name, store_url) as store:
        info = store.get_sweep(name)
        optimizer = make_optimizer(info.config, seed=_derive_seed(opts.seed, info.num_allocated))
        dispatcher = make_dispatcher(opts.backend, parallel=opts.parallel, ray_address=opts.ray_address)
        try:
            runner = SweepRunner(store, optimizer, dispatcher, name=name, command=command,
                                 root=sweep_dir(home, name), options=opts, on_event=on_event)
        except BaseException:
            dispatcher.close()
            raise
        return runner.run()


__all__ = [
    "EventHandler",
    "RunnerOptions",
    "SweepReport",
    "SweepRunner",
    "TooManyFailuresError",
    "init_sweep",
    "open_store",
    "rebuild_optimizer",
    "run_sweep",
    "sweep_dir",
]
