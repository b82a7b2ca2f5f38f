"""Artifacts and sweeps as the test server stores them, and the GraphQL nodes the client reads.

An artifact keeps its files' bytes; the server hands out a v1 manifest (``contents`` with base64
MD5 digests and sizes, as wandb writes it) and per-file download URLs, exactly the two steps
``wandb.Artifact.download`` takes (``FetchArtifactManifest``, then ``GetArtifactMembershipFileUrls``
and a GET per file).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from runlab.sources import ArtifactRecord


@dataclass(kw_only=True)
class StoredArtifact:
    """One output artifact version of a run."""

    name: str
    """Collection (sequence) name, without version."""
    type: str
    version_index: int | None = None
    """Version within the project's collection of this name; None: the next one, given when served."""
    aliases: list[str] = field(default_factory=lambda: ["latest"])
    digest: str = ""
    """Manifest digest; computed from the files when empty."""
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    """Logical path -> content."""
    created_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    key: int = -1
    """Server-assigned number, used in ids and download URLs."""

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())

    def manifest(self) -> dict[str, Any]:
        """The v1 manifest JSON the client downloads from the manifest's ``directUrl``."""
        return {
            "version": 1,
            "storagePolicy": "wandb-storage-policy-v1",
            "storagePolicyConfig": {"storageLayout": "V2"},
            "contents": {
                path: {"digest": base64.b64encode(hashlib.md5(data).digest()).decode(), "size": len(data)}
                for path, data in sorted(self.files.items())
            },
        }

    def manifest_digest(self) -> str:
        if self.digest:
            return self.digest
        return hashlib.md5(json.dumps(self.manifest()["contents"], sort_keys=True).encode()).hexdigest()


def stored_artifact_from_record(art: ArtifactRecord, *, version_index: int | None = None) -> StoredArtifact:
    """A server-side artifact from one the offline reader found (its staged files' bytes included)."""
    aliases = ["latest"] + ([art.version] if art.version and art.version != "latest" else [])
    return StoredArtifact(
        name=art.name,
        type=art.type,
        version_index=version_index,
        aliases=aliases,
        digest=art.digest,
        metadata=dict(art.metadata),
        files={logical: Path(local).read_bytes() for logical, local in art.files.items()},
    )


@dataclass(kw_only=True)
class StoredSweep:
    """A W&B sweep: its id (W&B's ``name``), config and state. Runs join it through ``sweep_name``."""

    id: str
    config: dict[str, Any] = field(default_factory=dict)
    display_name: str | None = None
    state: str = "FINISHED"
    method: str = "bayes"
    best_loss: float | None = None
    run_count_expected: int | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def project_info(Node: Any, entity: str, project: str) -> Any:
    return Node("Project", {"id": b64(f"Project:{project}"), "internalId": b64(f"Project:{project}"),
                            "name": project, "entity": Node("Entity", {"name": entity})})


def artifact_id(art: StoredArtifact) -> str:
    return b64(f"Artifact:{art.key}")


def artifact_node(Node: Any, art: StoredArtifact, entity: str, project: str, base_url: str) -> Any:
    """The ``Artifact`` object with every field of the client's ``ArtifactFragment``."""
    proj = project_info(Node, entity, project)
    sequence = Node("ArtifactSequence", {"name": art.name, "project": proj})
    aliases = [f"v{art.version_index}", *art.aliases]
    manifest_file = Node("File", {"directUrl": f"{base_url}/artifacts/{art.key}/manifest.json"})
    return Node(
        "Artifact",
        {
            "id": artifact_id(art),
            "artifactSequence": sequence,
            "versionIndex": art.version_index,
            "artifactType": Node("ArtifactType", {"name": art.type}),
            "description": art.description,
            "metadata": json.dumps(art.metadata),
            "ttlDurationSeconds": -2,
            "ttlIsInherited": True,
            "tags": [],
            "historyStep": None,
            "state": "COMMITTED",
            "size": art.size,
            "digest": art.manifest_digest(),
            "digestAlgorithm": "MANIFEST_MD5",
            "commitHash": None,
            "fileCount": len(art.files),
            "createdAt": iso(art.created_at),
            "updatedAt": iso(art.created_at),
            "aliases": [
                Node("ArtifactAlias", {"id": b64(f"ArtifactAlias:{art.key}:{a}"), "alias": a,
                                       "artifactCollection": sequence})
                for a in aliases
            ],
            "currentManifest": Node("ArtifactManifest", {"file": manifest_file}),
        },
    )


def connection(Node: Any, type_prefix: str, nodes: list[Any], after: str | None, first: int | None) -> Any:
    """A relay connection page over ``nodes`` (cursor = offset)."""
    start = int(after) if after else 0
    page = nodes[start : start + int(first or 50)]
    edges = [Node(f"{type_prefix}Edge", {"node": n, "cursor": str(start + i + 1)}) for i, n in enumerate(page)]
    info = Node("PageInfo", {"endCursor": str(start + len(page)), "hasNextPage": start + len(page) < len(nodes)})
    return Node(f"{type_prefix}Connection", {"edges": edges, "pageInfo": info, "totalCount": len(nodes)})


def file_urls_node(Node: Any, art: StoredArtifact, base_url: str) -> Any:
    """``artifactMembership``: the files of one version with their download URLs."""
    from urllib.parse import quote

    files = [
        Node("File", {"name": path, "directUrl": f"{base_url}/artifacts/{art.key}/files/{quote(path)}"})
        for path in sorted(art.files)
    ]
    return Node(
        "ArtifactCollectionMembership",
        {"files": lambda after=None, first=None: connection(Node, "File", files, after, first)},
    )


def sweep_node(Node: Any, sweep: StoredSweep, run_count: int) -> Any:
    """The ``Sweep`` object with every field of the client's ``SweepFragment``."""
    return Node(
        "Sweep",
        {
            "id": b64(f"Sweep:{sweep.id}"),
            "name": sweep.id,
            "displayName": sweep.display_name,
            "method": sweep.method,
            "state": sweep.state,
            "description": None,
            "bestLoss": sweep.best_loss,
            "config": yaml.safe_dump(sweep.config),
            "createdAt": iso(sweep.created_at),
            "updatedAt": iso(sweep.created_at),
            "runCount": run_count,
            "runCountExpected": sweep.run_count_expected,
        },
    )
