"""A local W&B backend for end-to-end tests of the real ``wandb.Api`` client.

It speaks the HTTP protocol wandb-core uses: ``POST /graphql`` (Viewer, Runs with filters, order
and cursor pagination, Run, RunSampledHistory, RunParquetHistory, HistoryPage, ServerFeaturesQuery,
GetSweep, RunOutputArtifacts, FetchArtifactManifest, GetArtifactMembershipFileUrls) and ``GET`` of
the parquet history exports, artifact manifests and artifact files it hands out (logged as ``GET``
and ``GET-artifact``). Every request is logged with its
operation name so tests can count them, and faults (429, 500, slow answers, dropped connections)
can be injected for the next N requests that match an operation.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ._artifacts import (
    StoredArtifact,
    StoredSweep,
    artifact_id,
    artifact_node,
    connection,
    file_urls_node,
    project_info,
    sweep_node,
)
from ._filters import matches
from ._gql import Executor, Node, parse
from ._reports import models, mutation_root
from ._store import StoredRun, _iso

log = logging.getLogger("wandb_server")


@dataclass
class Fault:
    """Answer the next ``times`` requests whose operation is ``operation`` (``*``: any) badly.

    ``kind``: ``"429"``, ``"500"``, ``"502"``, ``"503"``, ``"slow"`` (sleep ``delay`` s, then answer
    normally), ``"drop"`` (close the connection without an answer), ``"corrupt"`` (a 200 answer
    whose body is garbage, as a broken proxy or truncated transfer gives) or ``"no-manifest"``
    (operation ``GET-artifact`` only: the artifact's metadata is served but its manifest file
    answers 404, as a server whose manifest storage lost the object does). ``run`` limits it to
    requests about one run id. ``after`` lets that many matching requests through first.
    """

    kind: str
    operation: str = "*"
    times: int = 1
    after: int = 0
    run: str | None = None
    delay: float = 5.0
    fired: int = 0


@dataclass
class Request:
    """One logged request: the operation (or ``GET``), the run it names, and the answer status."""

    operation: str
    run: str | None
    status: int
    path: str


@dataclass
class _Project:
    entity: str
    name: str
    runs: dict[str, StoredRun] = field(default_factory=dict)
    sweeps: dict[str, StoredSweep] = field(default_factory=dict)


class WandbTestServer:
    """The server. Use as a context manager; ``url`` is what ``WANDB_BASE_URL`` should be."""

    def __init__(self, *, api_key: str = "k" * 40, entity: str = "runlab-test") -> None:
        self.api_key = api_key
        self.entity = entity
        self.projects: dict[tuple[str, str], _Project] = {}
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.unknown: list[str] = []
        self.seen_keys: list[str] = []
        self.views: list[dict[str, Any]] = []
        """Reports saved with ``upsertView`` (see :mod:`._reports`)."""
        self.artifacts: dict[int, tuple[str, StoredArtifact]] = {}
        """Artifact key -> (owning run id, artifact)."""
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_port}"

    def __enter__(self) -> WandbTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    # -- data ----------------------------------------------------------------------------------
    def add_run(self, project: str, run: StoredRun, *, entity: str | None = None) -> StoredRun:
        ent = entity or self.entity
        proj = self.projects.setdefault((ent, project), _Project(ent, project))
        proj.runs[run.id] = run
        for art in run.artifacts:
            self._register(proj, run.id, art)
        return run

    def add_sweep(self, project: str, sweep: StoredSweep, *, entity: str | None = None) -> StoredSweep:
        """A sweep; its runs are the runs whose ``sweep_name`` is ``sweep.id``."""
        ent = entity or self.entity
        self.projects.setdefault((ent, project), _Project(ent, project)).sweeps[sweep.id] = sweep
        return sweep

    def _register(self, proj: _Project, run_id: str, art: StoredArtifact) -> StoredArtifact:
        """Give a new artifact its id and the next version of its collection (which then owns ``latest``)."""
        with self._lock:
            if art.key >= 0:
                return art
            art.key = len(self.artifacts)
            self.artifacts[art.key] = (run_id, art)
            older = [a for r in proj.runs.values() for a in r.artifacts
                     if a is not art and a.name == art.name and a.key >= 0]
            if art.version_index is None:
                art.version_index = max((a.version_index or 0) + 1 for a in older) if older else 0
            if "latest" in art.aliases:
                for a in older:
                    a.aliases = [x for x in a.aliases if x != "latest"]
        return art

    def inject(self, kind: str, operation: str = "*", **kwargs: Any) -> Fault:
        fault = Fault(kind=kind, operation=operation, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def count(self, operation: str | None = None, run: str | None = None) -> int:
        """How many requests matched (``operation`` None: any; ``run`` None: any run)."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (operation is None or r.operation == operation) and (run is None or r.run == run)
            )

    def operations(self) -> Counter[str]:
        with self._lock:
            return Counter(r.operation for r in self.requests)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- request handling ----------------------------------------------------------------------
    def _take_fault(self, operation: str, run: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.operation not in ("*", operation) or (fault.run and fault.run != run):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.fired < fault.times:
                    fault.fired += 1
                    return fault
        return None

    def _log(self, operation: str, run: str | None, status: int, path: str) -> None:
        with self._lock:
            self.requests.append(Request(operation, run, status, path))

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user_key = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        key = user_key.split(":", 1)[-1]
        with self._lock:
            self.seen_keys.append(key)
        return key == self.api_key

    def graphql(self, body: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
        """Execute one GraphQL request: (operation name, run id it names, response data)."""
        doc = parse(body.get("query", ""))
        variables = body.get("variables") or {}
        operation = body.get("operationName") or doc.name or "anonymous"
        run = variables.get("name") or variables.get("runName") or variables.get("run")
        executor = Executor(doc, variables)
        data = executor.run(mutation_root(self) if doc.operation == "mutation" else self._root())
        if executor.unknown:
            log.error("wandb test server: %s asked for unknown fields %s", operation, executor.unknown)
            self.unknown.extend(f"{operation}:{u}" for u in executor.unknown)
        return operation, run if isinstance(run, str) else None, data

    # -- the schema ----------------------------------------------------------------------------
    def _root(self) -> Node:
        return Node(
            "Query",
            {
                "viewer": Node(
                    "User",
                    {
                        "id": "VXNlcjox",
                        "entity": self.entity,
                        "username": self.entity,
                        "email": "tester@example.com",
                        "flags": None,
                        "admin": False,
                        "teams": Node("EntityConnection", {"edges": []}),
                    },
                ),
                "serverInfo": Node(
                    "ServerInfo",
                    {"features": [], "latestLocalVersionInfo": None, "cliVersionInfo": {}},
                ),
                "project": self._project,
                "artifact": self._artifact,
                "models": lambda **kw: models(self, **kw),
            },
        )

    def _artifact(self, id: str) -> Node | None:
        for proj in self.projects.values():
            for run in proj.runs.values():
                for art in run.artifacts:
                    if artifact_id(self._register(proj, run.id, art)) == id:
                        return artifact_node(Node, art, proj.entity, proj.name, self.url)
        return None

    def _project(self, name: str, entityName: str | None = None) -> Node | None:
        proj = self.projects.get((entityName or self.entity, name))
        if proj is None:
            return None

        def selected(filters: Any = None) -> list[StoredRun]:
            flt = json.loads(filters) if isinstance(filters, str) else filters
            return [r for r in proj.runs.values() if matches(r.document(), flt)]

        def runs(filters: Any = None, after: str | None = None, first: int = 50, order: str | None = None):
            chosen = _ordered(selected(filters), order or "+created_at")
            start = int(after) if after else 0
            page = chosen[start : start + int(first or 50)]
            edges = [
                Node("RunEdge", {"node": self._run_node(proj, r), "cursor": str(start + i + 1)})
                for i, r in enumerate(page)
            ]
            has_next = start + len(page) < len(chosen)
            info = Node("PageInfo", {"endCursor": str(start + len(page)), "hasNextPage": has_next})
            return Node("RunConnection", {"edges": edges, "pageInfo": info, "totalCount": len(chosen)})

        def run(name: str) -> Node | None:
            r = proj.runs.get(name)
            return self._run_node(proj, r) if r is not None else None

        return Node(
            "Project",
            {
                "id": _b64(f"Project:{proj.name}"),
                "internalId": _b64(f"Project:{proj.name}"),
                "name": proj.name,
                "entityName": proj.entity,
                "readOnly": False,
                "runCount": lambda filters=None: len(selected(filters)),
                "runs": runs,
                "run": run,
                "sweep": lambda sweepName=None: self._sweep(proj, sweepName),
                "artifactCollection": lambda name: self._collection(proj, name),
            },
        )

    def _sweep(self, proj: _Project, name: str | None) -> Node | None:
        sweep = proj.sweeps.get(name or "")
        if sweep is None:
            return None
        count = sum(1 for r in proj.runs.values() if r.sweep_name == sweep.id)
        return sweep_node(Node, sweep, count)

    def _collection(self, proj: _Project, name: str) -> Node | None:
        versions = [(r, a) for r in proj.runs.values() for a in r.artifacts if a.name == name]
        if not versions:
            return None

        def membership(aliasName: str) -> Node | None:
            for run, art in versions:
                if aliasName == f"v{art.version_index}" or aliasName in art.aliases:
                    return file_urls_node(Node, self._register(proj, run.id, art), self.url)
            return None

        return Node("ArtifactSequence", {"name": name, "project": project_info(Node, proj.entity, proj.name),
                                         "artifactMembership": membership})

    def _output_artifacts(self, proj: _Project, r: StoredRun, after: str | None, first: int | None) -> Node:
        nodes = [artifact_node(Node, self._register(proj, r.id, a), proj.entity, proj.name, self.url)
                 for a in r.artifacts]
        return connection(Node, "Artifact", nodes, after, first)

    def _run_node(self, proj: _Project, r: StoredRun) -> Node:
        history_keys = r.history_keys()
        return Node(
            "Run",
            {
                "id": _b64(f"Run:v1:{r.id}:{proj.name}:{proj.entity}"),
                "projectId": "1",
                "name": r.id,
                "displayName": r.display_name,
                "tags": list(r.tags),
                "sweepName": r.sweep_name,
                "state": r.state,
                "config": json.dumps({k: {"value": v, "desc": None} for k, v in r.config.items()}),
                "group": r.group,
                "jobType": r.job_type,
                "commit": None,
                "readOnly": False,
                "createdAt": _iso(r.created_at),
                "heartbeatAt": _iso(r.heartbeat_at or r.created_at),
                "updatedAt": _iso(r.heartbeat_at or r.created_at),
                "description": r.notes,
                "notes": r.notes,
                "systemMetrics": "{}",
                "summaryMetrics": json.dumps(_jsonable(r.summary)),
                "historyLineCount": len(r.history),
                "historyKeys": history_keys,
                "user": Node("User", {"name": "Tester", "username": self.entity}),
                "sampledHistory": lambda specs: [_sampled(r, json.loads(s)) for s in specs],
                "history": lambda samples=500, minStep=0, maxStep=None: [
                    json.dumps(_jsonable(row))
                    for row in _live_rows(r)
                    if minStep <= row["_step"] < (maxStep if maxStep is not None else math.inf)
                ][: int(samples)],
                "parquetHistory": lambda liveKeys=(): self._parquet_history(proj, r, liveKeys),
                "outputArtifacts": lambda after=None, first=None: self._output_artifacts(proj, r, after, first),
                "inputArtifacts": lambda after=None, first=None: connection(Node, "Artifact", [], after, first),
            },
        )

    def _parquet_history(self, proj: _Project, r: StoredRun, live_keys: Any) -> Node:
        n = len(r.history) if r.exported_rows is None else r.exported_rows
        urls = [f"{self.url}/files/{proj.entity}/{proj.name}/{r.id}/history-{n}.parquet"] if n else []
        live = [_jsonable(row) for row in r.history[n:]]
        if live_keys:
            wanted = set(live_keys) | {"_step"}
            live = [{k: v for k, v in row.items() if k in wanted} for row in live]
        return Node("ParquetHistory", {"parquetUrls": urls, "liveData": live})

    def artifact_bytes(self, key: int, rest: list[str]) -> tuple[str | None, bytes | None]:
        """(owning run, content) of ``/artifacts/<key>/manifest.json`` or ``/artifacts/<key>/files/<path>``."""
        from urllib.parse import unquote

        with self._lock:
            found = self.artifacts.get(key)
        if found is None:
            return None, None
        run_id, art = found
        if rest == ["manifest.json"]:
            return run_id, json.dumps(art.manifest()).encode()
        if rest[:1] == ["files"]:
            return run_id, art.files.get(unquote("/".join(rest[1:])))
        return run_id, None

    def parquet_bytes(self, entity: str, project: str, run_id: str, n_rows: int) -> bytes | None:
        proj = self.projects.get((entity, project))
        run = proj.runs.get(run_id) if proj else None
        if run is None:
            return None
        return _parquet(run.history[:n_rows])


def _live_rows(r: StoredRun) -> list[dict[str, Any]]:
    """The backend's live store: rows not yet in the parquet export (all rows when none is)."""
    return r.history if not r.exported_rows else r.history[r.exported_rows :]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _jsonable(obj: Any) -> Any:
    """W&B sends NaN/inf as the strings its JSON encoder writes."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    return obj


def _ordered(runs: list[StoredRun], order: str) -> list[StoredRun]:
    desc = order.startswith("-")
    key = order.lstrip("+-")
    if key in ("created_at", "createdAt"):
        return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=desc)
    if key in ("heartbeat_at", "heartbeatAt"):
        return sorted(runs, key=lambda r: (r.heartbeat_at or r.created_at, r.id), reverse=desc)
    return sorted(runs, key=lambda r: r.id, reverse=desc)


def _sampled(r: StoredRun, spec: dict[str, Any]) -> list[dict[str, Any]]:
    keys = spec.get("keys") or []
    rows = [row for row in r.history if all(k in row for k in keys)]
    return [_jsonable({k: row[k] for k in keys}) for row in rows[: int(spec.get("samples", 500))]]


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    """W&B's history export: one column per key (nulls where a row lacks it), ``_step`` int64."""
    keys = sorted({k for row in rows for k, v in row.items() if isinstance(v, int | float)} - {"_step"})
    columns: dict[str, pa.Array] = {"_step": pa.array([int(r["_step"]) for r in rows], pa.int64())}
    for k in keys:
        columns[k] = pa.array([_num(r.get(k)) for r in rows], pa.float64())
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _status(fault: Fault | None) -> int:
    """The HTTP status a fault answered with (0: no answer at all)."""
    if fault is None or fault.kind == "drop":
        return 0
    return 200 if fault.kind == "corrupt" else int(fault.kind)


def _handler(server: WandbTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("wandb test server: " + format, *args)

        def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _fault(self, fault: Fault | None) -> bool:
            """Apply a fault; True when the request is already answered (or dropped)."""
            if fault is None:
                return False
            if fault.kind == "slow":
                time.sleep(fault.delay)
                return False
            if fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return True
            if fault.kind == "corrupt":
                self._send(200, b"\x00garbage from a broken proxy\x00", "application/octet-stream")
                return True
            status = int(fault.kind)
            self._send(status, json.dumps({"errors": [{"message": f"injected {status}"}]}).encode())
            return True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/graphql":
                self._send(200, b"")  # telemetry endpoints: accepted and ignored
                return
            if not server._authorized(self.headers.get("Authorization")):
                server._log("unauthorized", None, 401, self.path)
                self._send(401, json.dumps({"errors": [{"message": "user is not logged in"}]}).encode())
                return
            try:
                body = json.loads(raw)
                doc = parse(body.get("query", ""))
                variables = body.get("variables") or {}
                op = body.get("operationName") or doc.name or "anonymous"
                run = variables.get("name") or variables.get("runName") or variables.get("run")
            except (ValueError, KeyError) as exc:
                log.error("wandb test server: unparseable request %r: %s", raw[:300], exc)
                self._send(400, json.dumps({"errors": [{"message": str(exc)}]}).encode())
                return
            fault = server._take_fault(op, run)
            if self._fault(fault):
                server._log(op, run, _status(fault), self.path)
                return
            op, run, data = server.graphql(body)
            server._log(op, run, 200, self.path)
            self._send(200, json.dumps({"data": data}).encode())

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) == 5 and parts[0] == "files" and parts[4].startswith("history-"):
                _, entity, project, run_id, fname = parts
                fault = server._take_fault("GET", run_id)
                if self._fault(fault):
                    server._log("GET", run_id, _status(fault), self.path)
                    return
                n = int(fname.removeprefix("history-").removesuffix(".parquet"))
                payload = server.parquet_bytes(entity, project, run_id, n)
                if payload is not None:
                    server._log("GET", run_id, 200, self.path)
                    self._send(200, payload, "application/octet-stream")
                    return
            if len(parts) >= 3 and parts[0] == "artifacts" and parts[1].isdigit():
                run_id, payload = server.artifact_bytes(int(parts[1]), parts[2:])
                fault = server._take_fault("GET-artifact", run_id)
                if fault is not None and fault.kind == "no-manifest":
                    if parts[2:] == ["manifest.json"]:
                        server._log("GET-artifact", run_id, 404, self.path)
                        self._send(404, b"manifest not found", "text/plain")
                        return
                    fault.fired -= 1  # only manifest requests count against ``times``
                    fault = None
                if self._fault(fault):
                    server._log("GET-artifact", run_id, _status(fault), self.path)
                    return
                if payload is not None:
                    server._log("GET-artifact", run_id, 200, self.path)
                    self._send(200, payload, "application/octet-stream")
                    return
            log.error("wandb test server: unknown GET %s", self.path)
            server._log("GET", None, 404, self.path)
            self._send(404, b"not found", "text/plain")

    return Handler
