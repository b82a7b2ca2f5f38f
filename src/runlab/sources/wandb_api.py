"""Runs from the W&B API as :class:`~runlab.sources.RunRecord`\\ s, for the warehouse to store.

:class:`WandBCollector` selects runs on the server (:class:`RunSelection`: glob/regex on the
display name, raw MongoDB-style filters, tags, group, state, creation date, sweep), checks the
requested metrics and config params against what the selected runs actually logged (reporting
typos with the closest names before downloading anything), then downloads each run's full
history in parallel through the client's parquet-backed ``scan_history``. Given what the
warehouse holds (``known``), a run that did not change is skipped and a running run only fetches
the steps it logged since the last fetch. Each fetched run's output artifacts are listed (and
small ones, or those of the types asked for, downloaded). How it downloads is
:class:`FetchOptions`.

The collector never touches the warehouse: ``records(known)`` returns a batch the caller hands
to :meth:`Warehouse.ingest <runlab.warehouse.Warehouse.ingest>`::

    collector = WandBCollector(RunSelection(entity="me", project="p", pattern="sky_*"))
    report = wh.ingest(collector.records(known=wh.sync_state))

The API key is read by the wandb client from ``WANDB_API_KEY`` or ``~/.netrc``; runlab never
prints, logs or stores it.
"""

from __future__ import annotations

import difflib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from runlab.configpath import key_paths
from runlab.errors import FetchError, InputError, NotFoundError, WandbAuthError
from runlab.sources._batch import Known, RecordBatch, RunFailure, RunUnchanged, SourceItem
from runlab.sources._record import ArtifactRecord, RunRecord
from runlab.sources._wandb_artifacts import (
    ArtifactPolicy,
    download,
    list_output_artifacts,
    new_workdir,
    to_record,
)
from runlab.sources._wandb_convert import HistoryBuilder, clean_summary, get_path, parse_time, run_id_for
from runlab.sources._wandb_metrics import MetricRequest, MissingMetric, missing, resolve
from runlab.sources._wandb_options import FetchOptions, RunSelection
from runlab.sources._wandb_plan import Plan, decide
from runlab.sources._wandb_results import RunSummary
from runlab.sources._wandb_retry import (
    AUTH_HINT,
    RetryPolicy,
    describe,
    is_auth_error,
    with_retries,
)
from runlab.sources._wandb_sweep import SweepInfo, load_sweep

log = logging.getLogger("runlab.sources.wandb_api")

T = TypeVar("T")


@dataclass(eq=False)
class WandBBatch(RecordBatch):
    """A :class:`RecordBatch` of W&B runs, with what the checks before download found."""

    missing_metrics: list[MissingMetric] = field(default_factory=list)
    """Requested metrics no selected run has, with the closest existing names."""
    missing_params: list[MissingMetric] = field(default_factory=list)
    """Requested config params no selected run has."""
    sweep: SweepInfo | None = None
    """The W&B sweep the runs were selected from (``RunSelection.sweep``)."""


class WandBCollector:
    """Select W&B runs and yield them, with their full history, as records (see the module doc)."""

    def __init__(self, selection: RunSelection, options: FetchOptions | None = None, *, api: Any = None) -> None:
        if not isinstance(selection, RunSelection):
            raise InputError(f"WandBCollector needs a RunSelection, got {type(selection).__name__}",
                             hint="WandBCollector(RunSelection(entity='me', project='p', pattern='sky_*'))")
        self.selection = selection
        self.options = options if options is not None else FetchOptions()
        self.retry: RetryPolicy = self.options.retry_policy()
        self.artifact_policy: ArtifactPolicy = self.options.artifact_policy()
        self.sweep_info: SweepInfo | None = None
        self._api = api
        self._runs: dict[str, Any] = {}

    # -- selection -----------------------------------------------------------------------------
    def api(self) -> Any:
        """The ``wandb.Api`` in use (created on first use from ``WANDB_API_KEY``/netrc)."""
        if self._api is None:
            self._api = make_api(timeout=self.options.timeout, retry=self.retry)
        return self._api

    def select(self) -> list[RunSummary]:
        """List the runs matching the selection (one paginated server-side query)."""
        api, sel = self.api(), self.selection
        if sel.sweep is not None and self.sweep_info is None:
            self.sweep_info = load_sweep(api, sel.entity, sel.project, sel.sweep, self.retry)
            log.info("sweep %s (%s): %s runs", sel.sweep, self.sweep_info.state, self.sweep_info.run_count)
        filters = sel.filter_document()

        def listing() -> list[Any]:
            api.flush()  # the client caches listings; a retry or a re-select must see fresh data
            return list(api.runs(sel.path, filters=filters, per_page=100, lazy=False))

        runs = self._listed(listing)
        self._runs = {}
        out = []
        for run in runs:
            summary = self._summarize(run)
            self._runs[summary.run_id] = run
            out.append(summary)
        log.info("selected %d runs in %s with filters %s", len(out), sel.path, filters)
        return out

    def _listed(self, listing: Callable[[], list[Any]]) -> list[Any]:
        path = self.selection.path
        try:
            return with_retries(listing, self.retry, f"listing runs of {path}")
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

    def _summarize(self, run: Any) -> RunSummary:
        keys_doc = _attr(run, "history_keys", None) or {}
        config = run.config or {}
        params = {}
        for p in self.selection.config_params:
            try:
                params[p] = get_path(config, p)
            except KeyError:
                continue
        last_step = keys_doc.get("lastStep")
        return RunSummary(
            run_id=run_id_for(self.selection.entity, self.selection.project, run.id),
            id=run.id,
            name=run.name or run.id,
            state=run.state,
            group=_attr(run, "group", None) or "",
            tags=tuple(_attr(run, "tags", None) or ()),
            created_at=parse_time(_attr(run, "created_at", None)),
            updated_at=parse_time(_attr(run, "heartbeat_at", None)),
            last_step=int(last_step) if last_step is not None else -1,
            history_rows=int(_attr(run, "history_line_count", 0) or 0),
            history_keys=tuple(sorted((keys_doc.get("keys") or {}).keys())),
            params=params,
        )

    # -- checks before download ----------------------------------------------------------------
    def check(self, summaries: Sequence[RunSummary]) -> tuple[list[MissingMetric], list[MissingMetric]]:
        """Requested metrics and config params that no selected run has (with suggestions).

        Raises NotFoundError when metrics were requested and none of them exists at all.
        """
        sel = self.selection
        missing_metrics: list[MissingMetric] = []
        if sel.metrics and summaries:
            requests = sel.groups().expand(sel.metrics)
            missing_metrics = missing(requests, {s.run_id: s.history_keys for s in summaries})
            if len(missing_metrics) == len({r.origin for r in requests}):
                raise NotFoundError(
                    f"none of the requested metrics exists in the {len(summaries)} selected runs: "
                    + "; ".join(str(m) for m in missing_metrics),
                    hint="list a run's metrics with `runlab runs show RUN` or use globs like 'losses/*'",
                )
        missing_params: list[MissingMetric] = []
        if sel.config_params and summaries:
            have = sorted({k for s in summaries for k in key_paths(self._runs[s.run_id].config or {})})
            for p in sel.config_params:
                if not any(p in s.params for s in summaries):
                    missing_params.append(MissingMetric(p, tuple(difflib.get_close_matches(p, have, n=3))))
        for m in missing_metrics:
            log.warning("metric %s is in none of the selected runs", m)
        for m in missing_params:
            log.warning("config param %s is in none of the selected runs", m)
        return missing_metrics, missing_params

    # -- the batch -----------------------------------------------------------------------------
    def records(self, known: Known | None = None) -> WandBBatch:
        """Select and check now; download lazily, run by run, while the batch is read.

        ``known(run_id)`` is the stored state of a run (``Warehouse.sync_state``); without it (or
        with ``FetchOptions(refresh=True)``) every run is downloaded in full. Unchanged runs come
        as :class:`RunUnchanged`, runs that fail as :class:`RunFailure`; a rejected API key or a
        failed listing raises, since it dooms every run.
        """
        summaries = self.select()
        missing_metrics, missing_params = self.check(summaries)
        requests = self.selection.groups().expand(self.selection.metrics) if self.selection.metrics else None
        plans = [self._plan(s, requests, known) for s in summaries]
        log.info("%d runs to fetch, %d unchanged", sum(p.action != "skip" for p in plans),
                 sum(p.action == "skip" for p in plans))
        return WandBBatch(self._stream(plans), total=len(plans), missing_metrics=missing_metrics,
                          missing_params=missing_params, sweep=self.sweep_info)

    def _plan(self, s: RunSummary, requests: list[MetricRequest] | None, known: Known | None) -> Plan:
        keys = frozenset(resolve(requests, s.history_keys)) if requests is not None else None
        sync = None if self.options.refresh or known is None else known(s.run_id)
        return decide(s, keys, sync, artifacts=self.artifact_policy.enabled)

    def _stream(self, plans: list[Plan]) -> Iterator[SourceItem]:
        """Unchanged runs first, then each download as it completes; downloads are removed once
        the consumer asks for the next item (it has stored its own copy by then)."""
        for plan in plans:
            if plan.action == "skip":
                yield RunUnchanged(plan.summary.run_id, plan.summary.name, "same state, heartbeat and last step")
        todo = [p for p in plans if p.action != "skip"]
        if not todo:
            return
        scratch = new_workdir()
        try:
            with ThreadPoolExecutor(self.options.workers) as pool:
                futures = {pool.submit(self._fetch, p, scratch): p for p in todo}
                try:
                    for fut in as_completed(futures):
                        item, workdir = self._outcome(futures[fut], fut)
                        try:
                            yield item
                        finally:
                            if workdir is not None:
                                shutil.rmtree(workdir, ignore_errors=True)
                finally:
                    for f in futures:
                        f.cancel()  # the consumer stopped or the key was rejected: start nothing new
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _outcome(self, plan: Plan, fut: Future[tuple[RunRecord, Path | None]]) -> tuple[SourceItem, Path | None]:
        s = plan.summary
        try:
            return fut.result()
        except WandbAuthError:
            raise
        except Exception as exc:
            if is_auth_error(exc):
                raise WandbAuthError(f"the W&B server rejected the API key: {describe(exc)}", hint=AUTH_HINT) from None
            log.warning("run %s failed: %s", s.name, describe(exc))
            log.debug("run %s failure details", s.name, exc_info=exc)
            return RunFailure(s.run_id, s.name, describe(exc), origin=self._origin(s)), None

    def _origin(self, s: RunSummary) -> str:
        return f"wandb-api:{self.selection.path}/{s.id}"

    # -- one run -------------------------------------------------------------------------------
    def _fetch(self, plan: Plan, scratch: Path) -> tuple[RunRecord, Path | None]:
        """Download one run (artifacts first, then history); also returns its artifact download folder."""
        run = self._runs[plan.summary.run_id]
        s = plan.summary
        workdir: Path | None = None
        try:
            artifacts: list[ArtifactRecord] = []
            problems: list[str] = []
            if self.artifact_policy.enabled:
                artifacts, workdir = self._artifacts(run, s, problems, scratch)
            if plan.stored_artifacts is not None and {a.key for a in artifacts} != plan.stored_artifacts:
                plan = replace(plan, action="full", min_step=0)  # new artifacts: the stored copy is replaced whole
            builder = self._history(run, plan)
            record = self._record(run, s, builder, artifacts, partial=plan.action in ("append", "metadata"))
            record.problems.extend(problems)
        except BaseException:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return record, workdir

    def _history(self, run: Any, plan: Plan) -> HistoryBuilder:
        wanted = set(plan.keys) if plan.keys is not None else None
        s = plan.summary
        if plan.action not in ("full", "append") or s.last_step < plan.min_step:
            return HistoryBuilder(wanted)

        def scan() -> HistoryBuilder:
            b = HistoryBuilder(wanted)
            for row in run.scan_history(page_size=self.options.page_size, min_step=plan.min_step, use_cache=False):
                b.add(row)
            return b

        what = f"downloading history of {s.name!r}"
        return with_retries(lambda: _bounded(scan, self.options.history_timeout, what), self.retry, what)

    def _artifacts(
        self, run: Any, s: RunSummary, problems: list[str], scratch: Path
    ) -> tuple[list[ArtifactRecord], Path | None]:
        """The run's output artifacts; files of the wanted ones downloaded into a fresh folder.

        A download that keeps failing (after the retries) or that the client refuses (a missing
        manifest, unsafe file paths) costs only that artifact: it is recorded without files, with
        the reason in :attr:`ArtifactRecord.error` and ``problems``, and the next fetch retries it.
        """
        listed = with_retries(lambda: list_output_artifacts(run), self.retry, f"listing artifacts of {s.name!r}")
        out: list[ArtifactRecord] = []
        workdir: Path | None = None
        try:
            for i, art in enumerate(listed):
                files: dict[str, str] = {}
                if self.artifact_policy.wants_files(str(art.type), int(art.size or 0)):
                    workdir = workdir or new_workdir(scratch)
                    dest = workdir / f"{i:03d}"
                    what = f"downloading artifact {art.name!r} of {s.name!r}"
                    try:
                        files = with_retries(lambda a=art, d=dest: download(a, d), self.retry, what)
                    except WandbAuthError:
                        raise
                    except Exception as exc:  # the run lands whole; this artifact is retried next fetch
                        if is_auth_error(exc):
                            raise
                        error = describe(exc)
                        log.warning("%s: files not stored: %s", what, error)
                        problems.append(f"artifact {art.name}: files not downloaded ({error}); "
                                        "the next fetch tries again")
                        shutil.rmtree(dest, ignore_errors=True)
                        out.append(to_record(art, {}, error=error))
                        continue
                out.append(to_record(art, files))
        except BaseException:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return out, workdir

    def _record(
        self, run: Any, s: RunSummary, builder: HistoryBuilder, artifacts: list[ArtifactRecord], *, partial: bool
    ) -> RunRecord:
        problems = []
        if builder.skipped_values:
            problems.append(f"{builder.skipped_values} non-scalar history values (media, tables) not stored")
        if builder.nonfinite:
            problems.append(f"{builder.nonfinite} non-finite history values (NaN/inf) kept as such")
        return RunRecord(
            run_id=s.run_id,
            source="wandb-api",
            entity=self.selection.entity,
            project=self.selection.project,
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
            history=builder.table(),
            artifacts=artifacts,
            origin_path=self._origin(s),
            problems=problems,
            history_is_partial=partial,
        )


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

    check_reachable(base_url, timeout=timeout, retry=retry or RetryPolicy())

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


def check_reachable(base_url: str, *, timeout: float, retry: RetryPolicy) -> None:
    """Fail fast, naming the URL, when nothing answers at ``base_url`` (refused, unknown host, timeout).

    The client would retry a refused connection on its own schedule for a minute and then report
    it as a rejected key; one TCP connect, retried by ``retry`` (``--max-retries``), says what
    happened instead. Skipped when a proxy is configured for the URL (the proxy connects).
    """
    import socket
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname
    if not host or parts.scheme not in ("http", "https"):
        raise InputError(f"WANDB_BASE_URL must be an http(s) URL, got {base_url!r}",
                         hint="e.g. WANDB_BASE_URL=https://wandb.example.com")
    if parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)

    def probe() -> None:
        socket.create_connection((host, port), timeout=min(float(timeout), 10.0)).close()

    try:
        with_retries(probe, retry, f"connecting to {base_url}")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        tries = f" (after {retry.max_retries} retries)" if retry.max_retries else ""
        raise FetchError(
            f"cannot connect to the W&B server at {base_url}: {reason}{tries}; the API key was not checked",
            hint="check WANDB_BASE_URL (unset it for wandb.ai), that the server is running and reachable, "
            "and the network; --max-retries sets how often runlab tries again",
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


__all__ = [
    "ArtifactPolicy",
    "FetchOptions",
    "RunFailure",
    "RunSelection",
    "RunSummary",
    "SweepInfo",
    "WandBBatch",
    "WandBCollector",
    "make_api",
]
