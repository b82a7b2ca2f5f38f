"""Output artifacts of a W&B run: always listed, and downloaded when small or of a wanted type.

Every output artifact becomes an :class:`ArtifactRecord` (name, type, version, digest, metadata),
so ``Warehouse.artifacts()`` shows what each run produced without a byte of content. Files are
downloaded only when an artifact is small (``max_bytes``) or of a type the user asked for (say
``environment_configs``, the env-config history runlab analyses later): model checkpoints of many
GB stay on the server. Downloaded files are checked against the manifest digest, because the
client writes whatever body an HTTP answer carries, error pages included.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runlab.errors import InputError
from runlab.sources._record import ArtifactRecord

log = logging.getLogger("runlab.sources.wandb_api")


class CorruptDownloadError(ConnectionError):
    """A downloaded file whose content does not match its manifest digest (retried like a dropped link)."""


@dataclass(frozen=True, kw_only=True)
class ArtifactPolicy:
    """Which artifacts the collector lists and which it downloads."""

    enabled: bool = True
    """List each run's output artifacts (one small query per fetched run)."""
    types: tuple[str, ...] = ()
    """Artifact types whose files are always downloaded, e.g. ``("environment_configs",)``; ``*``: every type."""
    max_bytes: int = 1_000_000
    """Artifacts up to this total size are downloaded whatever their type (0: none by size)."""

    def __post_init__(self) -> None:
        if isinstance(self.types, str):
            raise InputError(f"artifact types must be a list of type names, got the string {self.types!r}")
        if any(not t or not t.strip() for t in self.types):
            raise InputError(f"artifact types must be non-empty names, got {list(self.types)!r}")
        if self.max_bytes < 0:
            raise InputError(f"artifact size limit must be >= 0 bytes, got {self.max_bytes}")

    def wants_files(self, type_: str, size: int) -> bool:
        """True when the files of an artifact of this type and total size should be downloaded."""
        return "*" in self.types or type_ in self.types or 0 < size <= self.max_bytes


def list_output_artifacts(run: Any) -> list[Any]:
    """The run's output artifacts as ``wandb.Artifact`` objects (``RunOutputArtifacts``, paginated)."""
    return [a for a in run.logged_artifacts(per_page=100) if a is not None]


def to_record(art: Any, files: dict[str, str] | None = None, *, error: str = "") -> ArtifactRecord:
    """An :class:`ArtifactRecord` from a logged ``wandb.Artifact`` (``files``: logical -> local path;
    ``error``: why wanted files could not be downloaded)."""
    return ArtifactRecord(
        name=str(art.name).split(":", 1)[0],
        type=str(art.type),
        version=str(art.version),
        digest=str(art.digest or ""),
        metadata=dict(art.metadata or {}),
        files=dict(files or {}),
        error=error,
    )


def download(art: Any, dest: Path) -> dict[str, str]:
    """Download an artifact's stored files into ``dest``; returns logical path -> local path.

    Reference entries (files that live in the user's own bucket) are not downloaded. A file whose
    digest does not match the manifest raises :class:`CorruptDownloadError`; ``dest`` is emptied
    first, so a retry never trusts a half-written earlier attempt.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        art.manifest  # noqa: B018  (fetched first: a garbled manifest answer is a bad transfer, retried)
    except ValueError as exc:
        raise CorruptDownloadError(f"artifact {art.name}: the manifest download is not valid JSON ({exc})") from None
    root = Path(art.download(root=str(dest), skip_cache=True))
    out: dict[str, str] = {}
    for logical, entry in art.manifest.entries.items():
        if entry.ref is not None:
            continue
        local = root / str(logical)
        if not local.is_file():
            raise CorruptDownloadError(f"artifact {art.name}: file {str(logical)!r} is missing after download")
        if _file_digest(local, entry) != entry.digest:
            raise CorruptDownloadError(
                f"artifact {art.name}: file {str(logical)!r} does not match its manifest digest "
                "(corrupt or incomplete download)"
            )
        out[str(logical)] = str(local)
    return out


def _file_digest(path: Path, entry: Any) -> str:
    from wandb.sdk.artifacts._generated import ArtifactDigestAlgorithm
    from wandb.sdk.lib.hashutil import md5_file_b64, xxh128_file_b64

    if entry.digest_algorithm() is ArtifactDigestAlgorithm.MANIFEST_XXH128:
        return str(xxh128_file_b64(str(path)))
    return str(md5_file_b64(str(path)))


def new_workdir(parent: Path | None = None) -> Path:
    """A private temporary folder (inside ``parent`` when given) for downloads not yet stored."""
    return Path(tempfile.mkdtemp(prefix="runlab-artifacts-", dir=parent))

