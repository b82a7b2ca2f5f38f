"""Collect runs from the W&B API into the warehouse.

:class:`WandBCollector` selects runs on the server (glob/regex on the display name, raw MongoDB-style
filters, tags, group, state, creation date), checks the requested metrics and config params
against what the selected runs actually logged (reporting typos with the closest names before
downloading anything), then downloads each run's full history in parallel through the client's
parquet-backed ``scan_history``. A run already in the warehouse is skipped when nothing changed,
and a running run only fetches the steps it logged since the last fetch. Each fetched run's output
artifacts are listed (and small ones, or those of the types asked for, downloaded into the
warehouse); ``sweep=`` selects the runs of one W&B sweep.

The API key is read by the wandb client from ``WANDB_API_KEY`` or ``~/.netrc``; runlab never
prints, logs or stores it.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from runlab.errors import FetchError, InputError, NotFoundError, WandbAuthError
from runlab.sources._record import ArtifactRecord, RunRecord
from runlab.sources._wandb_artifacts import (
    ArtifactPolicy,
    artifact_key,
    download,
    list_output_artifacts,
    new_workdir,
    to_record,
)
from runlab.sources._wandb_convert import (
    HistoryBuilder,
    clean_summary,
    get_path,
    parse_time,
    run_id_for,
)
from runlab.sources._wandb_metrics import MetricGroups, MissingMetric, missing, resolve
from runlab.sources._wandb_results import CollectResult, RunFailure, RunSummary
from runlab.sources._wandb_retry import (
    AUTH_HINT,
    RetryPolicy,
    describe,
    is_auth_error,
    is_retryable,
    with_retries,
)
from runlab.sources._wandb_select import build_filters
from runlab.sources._wandb_sweep import SweepInfo, load_sweep

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

log = logging.getLogger("runlab.sources.wandb_api")

Action = Literal["full", "append", "metadata", "skip"]
T = TypeVar("T")


@dataclass(frozen=True)
class _Plan:
    summary: RunSummary
    action: Action
    keys: frozenset[str] | None
    min_step: int = 0
    stored_artifacts: frozenset[str] | None = None
    """Artifacts the warehouse holds for the run (for append/metadata plans)."""


class WandBCollector:
    """Select W&B runs and store them, with their full history, in a :class:`Warehouse`.

    Selection options are combined with AND. ``metrics`` lists names, globs and ``@group``
    references (see :meth:`add_metric_group`); empty means every history key. ``config_params``
    are dotted paths into the nested config, reported when no run has them and exposed per run
    in :attr:`RunSummary.params` (the full config is stored either way). ``sweep`` selects the
    runs of one W&B sweep. ``artifacts`` lists each fetched run's output artifacts; their files are
    downloaded when an artifact's total size is at most ``artifact_max_bytes`` or its type is in
    ``artifact_types`` (``*``: every type).
    """

    def __init__(
        self,
        entity: str,
        project: str,
        *,
        pattern: str | None = None,
        regex: str | None = None,
        filters: str | Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        group: str | None = None,
        state: str | None = None,
        since: str | date | datetime | None = None,
        sweep: str | None = None,
        metrics: Sequence[str] = (),
        config_params: Sequence[str] = (),
        workers: int = 4,
        refresh: bool = False,
        api: Any = None,
        max_retries: int = 5,
        retry_base_delay: float = 1.0,
        timeout: int = 60,
        history_timeout: float = 1800.0,
        page_size: int = 10_000,
        artifacts: bool = True,
        artifact_types: Sequence[str] = (),
        artifact_max_bytes: int = 1_000_000,
    ) -> None:
        for label, value in (("entity", entity), ("project", project)):
            if not value or "/" in value or value.strip() != value:
                raise InputError(f"{label} must be a non-empty name without '/' or spaces, got {value!r}")
        if workers < 1:
            raise InputError(f"workers must be >= 1, got {workers}")
        if history_timeout <= 0:
            raise InputError(f"history_timeout must be > 0 seconds, got {history_timeout}")
        if isinstance(metrics, str) or isinstance(config_params, str) or isinstance(tags, str):
            raise InputError("metrics, config_params and tags must be lists of strings, not one string")
        self.entity = entity
        self.project = project
        self.filters = build_filters(
            pattern=pattern, regex=regex, filters=filters, tags=tags, group=group, state=state, since=since,
            sweep=sweep,
        )
        self.sweep = sweep
        self.sweep_info: SweepInfo | None = None
        self.artifact_policy = ArtifactPolicy(
            enabled=artifacts,
            types=artifact_types if isinstance(artifact_types, str) else tuple(artifact_types),  # type: ignore[arg-type]
            max_bytes=artifact_max_bytes,
        )
        self.metrics = tuple(metrics)
        self.config_params = tuple(config_params)
        self.workers = workers
        self.refresh = refresh
        self.retry = RetryPolicy(max_retries=max_retries, base_delay=retry_base_delay)
        self.timeout = timeout
        self.history_timeout = history_timeout
        self.page_size = page_size
        self.groups = MetricGroups()
        self._api = api
        self._runs: dict[str, Any] = {}
        self._scratch: Path | None = None
        """Parent of the runs' artifact download folders during :meth:`collect` (removed at its end)."""

    # -- configuration -------------------------------------------------------------------------
    def add_metric_group(self, name: str, metrics: Sequence[str]) -> None:
        """Name a list of metrics/globs; ``@name`` then stands for it in any metric list."""
        self.groups.add(name, metrics)

    # -- selection -----------------------------------------------------------------------------
    def api(self) -> Any:
        """The ``wandb.Api`` in use (created on first use from ``WANDB_API_KEY``/netrc)."""
        if self._api is None:
            self._api = make_api(timeout=self.timeout, retry=self.retry)
        return self._api

    def select(self) -> list[RunSummary]:
        """List the runs matching the selection (one paginated server-side query)."""
        api = self.api()
        path = f"{self.entity}/{self.project}"
        if self.sweep is not None and self.sweep_info is None:
            self.sweep_info = load_sweep(api, self.entity, self.project, self.sweep, self.retry)
            log.info("sweep %s (%s): %s runs", self.sweep, self.sweep_info.state, self.sweep_info.run_count)

        def listing() -> list[Any]:
            api.flush()  # the client caches listings; a retry or a re-select must see fresh data
            return list(api.runs(path, filters=self.filters, per_page=100, lazy=False))

        try:
            runs = with_retries(listing, self.retry, f"listing runs of {path}")
        except (WandbAuthError, InputError):
            raise
        except ValueError as exc:
            if "could not find project" in str(exc).lower():
                raise NotFoundError(
                    f"W&B project {path!r} not found (or not visible with this API key)",
                    hint="check the ENTITY/PROJECT spelling; the entity is the user or team name",
                ) from None
            raise FetchError(f"listing runs of {path} failed: {describe(exc)}") from None
        except Exception as exc:
            raise FetchError(
                f"listing runs of {path} failed after {self.retry.max_retries} retries: {describe(exc)}",
                hint="check WANDB_BASE_URL and the network, then run the same command again",
            ) from None
        self._runs = {}
        out = []
        for run in runs:
            summary = self._summarize(run)
            self._runs[summary.run_id] = run
            out.append(summary)
        log.info("selected %d runs in %s with filters %s", len(out), path, self.filters)
        return out

    def _summarize(self, run: Any) -> RunSummary:
        keys_doc = _attr(run, "history_keys", None) or {}
        keys = tuple(sorted((keys_doc.get("keys") or {}).keys()))
        config = run.config or {}
        params = {}
        for p in self.config_params:
            try:
                params[p] = get_path(config, p)
            except KeyError:
                continue
        return RunSummary(
            run_id=run_id_for(self.entity, self.project, run.id),
            id=run.id,
            name=run.name or run.id,
            state=run.state,
            group=_attr(run, "group", None) or "",
            tags=tuple(_attr(run, "tags", None) or ()),
            created_at=parse_time(_attr(run, "created_at", None)),
            updated_at=parse_time(_attr(run, "heartbeat_at", None)),
            last_step=int(keys_doc.get("lastStep", -1) if keys_doc.get("lastStep") is not None else -1),
            history_rows=int(_attr(run, "history_line_count", 0) or 0),
            history_keys=keys,
            params=params,
        )

    # -- checks before download ----------------------------------------------------------------
    def check(self, summaries: Sequence[RunSummary]) -> tuple[list[MissingMetric], list[MissingMetric]]:
        """Requested metrics and config params that no selected run has (with suggestions).

        Raises NotFoundError when metrics were requested and none of them exists at all.
        """
        missing_metrics: list[MissingMetric] = []
        if self.metrics and summaries:
            requests = self.groups.expand(self.metrics)
            missing_metrics = missing(requests, {s.run_id: s.history_keys for s in summaries})
            origins = {r.origin for r in requests}
            if len(missing_metrics) == len(origins):
                raise NotFoundError(
                    f"none of the requested metrics exists in the {len(summaries)} selected runs: "
                    + "; ".join(str(m) for m in missing_metrics),
                    hint="list a run's metrics with `runlab runs show RUN` or use globs like 'losses/*'",
                )
        missing_params: list[MissingMetric] = []
        if self.config_params and summaries:
            have = sorted({k for s in summaries for k in _flat_keys(self._runs[s.run_id].config or {})})
            for p in self.config_params:
                if not any(p in s.params for s in summaries):
                    import difflib

                    missing_params.append(MissingMetric(p, tuple(difflib.get_close_matches(p, have, n=3))))
        for m in missing_metrics:
            log.warning("metric %s is in none of the selected runs", m)
        for m in missing_params:
            log.warning("config param %s is in none of the selected runs", m)
        return missing_metrics, missing_params

    # -- collection ----------------------------------------------------------------------------
    def collect(self, wh: Warehouse, progress: bool = True) -> CollectResult:
        """Fetch the selected runs into ``wh``; failures are listed, never fatal for other runs."""
        summaries = self.select()
        result = CollectResult(sweep=self.sweep_info)
        result.missing_metrics, result.missing_params = self.check(summaries)
        requests = self.groups.expand(self.metrics) if self.metrics else None
        plans = [self._plan(wh, s, requests) for s in summaries]
        for plan in plans:
            if plan.action == "skip":
                result.unchanged.append(plan.summary.run_id)
        todo = [p for p in plans if p.action != "skip"]
        log.info("%d runs to fetch, %d unchanged", len(todo), len(result.unchanged))
        self._scratch = new_workdir()
        try:
            self._fetch_all(wh, todo, result, progress)
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)  # downloads of runs never stored (auth failure)
            self._scratch = None
        return result

    def _fetch_all(self, wh: Warehouse, todo: list[_Plan], result: CollectResult, progress: bool) -> None:
        with _progress(progress, len(todo)) as advance, ThreadPoolExecutor(self.workers) as pool:
            futures: dict[Future[tuple[RunRecord, Path | None]], _Plan] = {
                pool.submit(self._fetch, p): p for p in todo
            }
            try:
                for fut in as_completed(futures):
                    plan = futures[fut]
                    self._store(wh, plan, fut, result)
                    advance(plan.summary.name)
            except WandbAuthError:
                for f in futures:
                    f.cancel()
                raise

    def _plan(self, wh: Warehouse, s: RunSummary, requests: Any) -> _Plan:
        plan = self._decide(wh, s, requests)
        if plan.action in ("append", "metadata") and self.artifact_policy.enabled:
            stored = wh.artifacts([s.run_id])
            keys = frozenset(
                artifact_key(n, v, d) for n, v, d in zip(stored["name"], stored["version"], stored["digest"], strict=True)
            )
            plan = replace(plan, stored_artifacts=keys)
        return plan

    def _decide(self, wh: Warehouse, s: RunSummary, requests: Any) -> _Plan:
        keys = frozenset(resolve(requests, s.history_keys)) if requests is not None else None
        sync = None if self.refresh else wh.sync_state(s.run_id)
        if sync is None:
            return _Plan(s, "full", keys)
        stored_max = sync.max_step if sync.max_step is not None else -1
        if s.last_step < stored_max:
            return _Plan(s, "full", keys)  # the run was rewound or replaced: start over
        if keys is not None and stored_max >= 0:
            stored = set(wh.metric_names([s.run_id])["metric"]) if sync.history_rows else set()
            if not keys <= stored | {"_runtime", "_timestamp"}:
                return _Plan(s, "full", keys)  # asks for metrics not fetched before
        if s.last_step > stored_max:
            return _Plan(s, "append" if stored_max >= 0 else "full", keys, min_step=stored_max + 1)
        if sync.state == s.state and _same_time(sync.updated_at, s.updated_at) and self._same_meta(wh, s):
            return _Plan(s, "skip", keys)
        return _Plan(s, "metadata", keys, min_step=stored_max + 1)

    def _same_meta(self, wh: Warehouse, s: RunSummary) -> bool:
        try:
            stored = wh.get_run(s.run_id)
        except Exception:
            return False
        return (stored.get("name"), list(stored.get("tags") or []), stored.get("group") or "") == (
            s.name,
            list(s.tags),
            s.group,
        )

    def _fetch(self, plan: _Plan) -> tuple[RunRecord, Path | None]:
        """Download one run (artifacts first, then history); also returns its artifact download folder."""
        run = self._runs[plan.summary.run_id]
        s = plan.summary
        workdir: Path | None = None
        try:
            artifacts: list[ArtifactRecord] = []
            problems: list[str] = []
            if self.artifact_policy.enabled:
                artifacts, workdir = self._artifacts(run, s, problems)
            action, min_step = plan.action, plan.min_step
            listed = {artifact_key(a.name, a.version, a.digest) for a in artifacts}
            if plan.stored_artifacts is not None and action in ("append", "metadata") and listed != plan.stored_artifacts:
                action, min_step = "full", 0  # new artifacts: the stored copy is replaced as a whole
            builder = self._history(run, s, plan.keys, action, min_step)
            record = self._record(run, s, builder, artifacts, partial=action in ("append", "metadata"))
            record.problems.extend(problems)
        except BaseException:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return record, workdir

    def _history(
        self, run: Any, s: RunSummary, keys: frozenset[str] | None, action: Action, min_step: int
    ) -> HistoryBuilder:
        wanted = set(keys) if keys is not None else None
        if action not in ("full", "append") or s.last_step < min_step:
            return HistoryBuilder(wanted)

        def scan() -> HistoryBuilder:
            b = HistoryBuilder(wanted)
            for row in run.scan_history(page_size=self.page_size, min_step=min_step, use_cache=False):
                b.add(row)
            return b

        what = f"downloading history of {s.name!r}"
        return with_retries(lambda: _bounded(scan, self.history_timeout, what), self.retry, what)

    def _artifacts(self, run: Any, s: RunSummary, problems: list[str]) -> tuple[list[ArtifactRecord], Path | None]:
        """The run's output artifacts; files of the wanted ones downloaded into a fresh folder.

        A download that keeps failing fails the run (a re-run retries it); an artifact the client
        refuses to download (unsafe file paths, say) is kept without files and noted in ``problems``.
        """
        listed = with_retries(lambda: list_output_artifacts(run), self.retry, f"listing artifacts of {s.name!r}")
        out: list[ArtifactRecord] = []
        workdir: Path | None = None
        try:
            for i, art in enumerate(listed):
                files: dict[str, str] = {}
                if self.artifact_policy.wants_files(str(art.type), int(art.size or 0)):
                    workdir = workdir or new_workdir(self._scratch)
                    dest = workdir / f"{i:03d}"
                    what = f"downloading artifact {art.name!r} of {s.name!r}"
                    try:
                        files = with_retries(lambda a=art, d=dest: download(a, d), self.retry, what)
                    except Exception as exc:
                        if is_retryable(exc) or is_auth_error(exc):
                            raise
                        log.warning("%s: files not stored: %s", what, describe(exc))
                        problems.append(f"artifact {art.name}: files not downloaded ({describe(exc)})")
                        files = {}
                out.append(to_record(art, files))
        except BaseException:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return out, workdir

    def _record(
        self, run: Any, s: RunSummary, builder: HistoryBuilder, artifacts: list[ArtifactRecord], *, partial: bool
    ) -> RunRecord:
        table = builder.table()
        problems = []
        if builder.skipped_values:
            problems.append(f"{builder.skipped_values} non-scalar history values (media, tables) not stored")
        if builder.nonfinite:
            problems.append(f"{builder.nonfinite} non-finite history values (NaN/inf) kept as such")
        return RunRecord(
            run_id=s.run_id,
            source="wandb-api",
            entity=self.entity,
            project=self.project,
            name=s.name,
            group=s.group,
            job_type=_attr(run, "job_type", None) or "",
            tags=list(s.tags),
            notes=_attr(run, "notes", None) or "",
            state=s.state,
            created_at=s.created_at,
            updated_at=s.updated_at,
            config=dict(run.config or {}),
            summary=clean_summary(run.summary_metrics or {}),
            sweep_id=_attr(run, "sweep_name", None) or "",
            history=table,
            artifacts=artifacts,
            origin_path=f"wandb-api:{self.entity}/{self.project}/{s.id}",
            problems=problems,
            history_is_partial=partial,
        )

    def _store(
        self, wh: Warehouse, plan: _Plan, fut: Future[tuple[RunRecord, Path | None]], result: CollectResult
    ) -> None:
        workdir = None
        try:
            if not fut.cancelled() and fut.exception() is None:
                workdir = fut.result()[1]
            self._store_record(wh, plan, fut, result)
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)  # the warehouse holds its own copies now

    def _store_record(
        self, wh: Warehouse, plan: _Plan, fut: Future[tuple[RunRecord, Path | None]], result: CollectResult
    ) -> None:
        s = plan.summary
        try:
            record = fut.result()[0]
        except WandbAuthError:
            raise
        except Exception as exc:
            if is_auth_error(exc):
                raise WandbAuthError(f"the W&B server rejected the API key: {describe(exc)}", hint=AUTH_HINT) from None
            log.warning("run %s failed: %s", s.name, describe(exc))
            log.debug("run %s failure details", s.name, exc_info=exc)
            result.failed.append(RunFailure(s.run_id, s.name, describe(exc)))
            return
        try:
            upsert = wh.upsert_run(record)
        except Exception as exc:
            result.failed.append(RunFailure(s.run_id, s.name, f"storing failed: {describe(exc)}"))
            return
        result.history_rows += record.history.num_rows
        result.artifacts += len(record.artifacts)
        result.artifact_files += sum(len(a.files) for a in record.artifacts)
        status = upsert.status
        if status == "added":
            result.added.append(s.run_id)
        elif status == "appended" and plan.action == "append":
            result.appended.append(s.run_id)
        elif status == "unchanged":
            result.unchanged.append(s.run_id)
        else:
            result.updated.append(s.run_id)


def make_api(*, timeout: int = 60, retry: RetryPolicy | None = None) -> Any:
    """A ``wandb.Api`` for ``WANDB_BASE_URL``; a missing or rejected key is one WandbAuthError."""
    import wandb

    base_url = os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"
    try:
        from wandb.sdk.lib import wbauth

        auth = wbauth.authenticate_session(
            host=base_url, source="runlab", no_offline=True, prompt=False, update_session=False
        )
    except Exception as exc:  # a malformed key is rejected here, before any request
        raise WandbAuthError(f"the W&B API key for {base_url} is not usable: {describe(exc)}", hint=AUTH_HINT) from None
    if auth is None:
        raise WandbAuthError(f"no W&B API key found for {base_url}", hint=AUTH_HINT)

    def connect() -> Any:
        return wandb.Api(timeout=timeout)

    try:
        return with_retries(connect, retry or RetryPolicy(), f"connecting to {base_url}")
    except WandbAuthError:
        raise
    except Exception as exc:
        raise FetchError(
            f"cannot reach the W&B server at {base_url}: {describe(exc)}",
            hint="check WANDB_BASE_URL and the network, then run the same command again",
        ) from None


def _bounded(call: Callable[[], T], seconds: float, what: str) -> T:
    """Run ``call`` with a deadline.

    wandb-core retries history downloads on its own schedule (minutes of backoff when a server keeps
    failing) and the client offers no timeout for them; past the deadline the run is reported as
    failed and the abandoned download is left to finish or fail in the background.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="runlab-history-scan")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise FetchError(f"{what} did not finish within {seconds:g} s (the server keeps failing or is slow)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _attr(run: Any, name: str, default: Any) -> Any:
    try:
        return getattr(run, name)
    except AttributeError:
        return default


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.tzinfo is None:
        from datetime import UTC

        a = a.replace(tzinfo=UTC)
    return a == b


def _flat_keys(config: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for k, v in config.items():
        path = f"{prefix}{k}"
        yield path
        if isinstance(v, Mapping):
            yield from _flat_keys(v, path + ".")


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    """A rich progress bar on stderr (a no-op when disabled), yielding ``advance(name)``."""
    if not enabled or total == 0:
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]fetching[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}", markup=False),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("", total=total)

        def advance(name: str) -> None:
            bar.update(task, advance=1, description=name[:40])

        yield advance


__all__ = ["ArtifactPolicy", "CollectResult", "RunFailure", "RunSummary", "SweepInfo", "WandBCollector", "make_api"]
