"""``MANIFEST.json``: what a sample project holds and how it was made, and its verification.

The manifest records the generator version, the exact command, per-set configuration, seeds,
counts and wall time, library versions, the machine, and a sha256 and size for every shipped
file, so a checkout can prove its sample data is complete and unmodified.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from runlab.errors import CorruptRunFileError, NotFoundError

MANIFEST_NAME = "MANIFEST.json"
MANIFEST_FORMAT = "runlab.samples/1"
#: Bumped whenever generated content changes for the same seeds.
GENERATOR_VERSION = "1.0.0"
_LIBRARIES = ("runlab", "wandb", "gymnasium", "stable-baselines3", "torch", "numpy", "pandas", "pyarrow")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_table(root: Path) -> dict[str, dict[str, Any]]:
    """``relative posix path -> {sha256, size}`` for every file under ``root`` but the manifest."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST_NAME or rel.split("/")[0].startswith("."):
            continue
        out[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return out


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the generated data."""
    out = {}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine() -> dict[str, Any]:
    """The generating machine, as far as the data depends on it."""
    cpus = os.cpu_count() or 0
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": cpus,
        "processor": platform.processor() or platform.machine(),
        "accelerator": "none (CPU only)",
        "description": f"{cpus}-core CPU",
    }


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the sample project at ``root``."""
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise NotFoundError(
            f"no {MANIFEST_NAME} in {root}", hint="generate the samples with `runlab samples generate --out DIR`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRunFileError(f"{path} is not valid JSON: {exc}", hint="regenerate the samples") from None
    if data.get("format") != MANIFEST_FORMAT:
        raise CorruptRunFileError(f"{path} has format {data.get('format')!r}, expected {MANIFEST_FORMAT!r}")
    return data


def write_manifest(root: Path, manifest: dict[str, Any]) -> Path:
    """Write ``root/MANIFEST.json`` atomically (temp file + rename)."""
    path = root / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def verify_samples(root: Path) -> list[str]:
    """Problems found comparing ``root`` with its manifest (empty list: all good).

    Checks every listed file's size and sha256, files present but not listed, and each set's
    recorded counts (run directories, curve rows).
    """
    manifest = read_manifest(root)
    problems = []
    actual = file_table(root)
    for rel, want in manifest["files"].items():
        got = actual.get(rel)
        if got is None:
            problems.append(f"missing file {rel}")
        elif got["size"] != want["size"]:
            problems.append(f"{rel}: size {got['size']} != manifest {want['size']}")
        elif got["sha256"] != want["sha256"]:
            problems.append(f"{rel}: sha256 differs from the manifest")
    problems += [f"file not in manifest: {rel}" for rel in sorted(set(actual) - set(manifest["files"]))]
    for name, info in manifest.get("sets", {}).items():
        run_dirs = sorted((root / name / "wandb").glob("offline-run-*"))
        if len(run_dirs) != info.get("offline_runs", 0):
            problems.append(f"set {name}: {len(run_dirs)} offline run dirs, manifest says {info.get('offline_runs')}")
        if "curve_rows" in info:
            problems += _check_curves(root / name, info)
    return problems


def _check_curves(set_dir: Path, info: dict[str, Any]) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(set_dir / "curves.parquet").metadata.num_rows
        runs = pq.ParquetFile(set_dir / "runs.parquet").metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        return [f"set {set_dir.name}: cannot read its Parquet files ({exc})"]
    if rows != info["curve_rows"] or runs != info["curve_runs"]:
        return [f"set {set_dir.name}: {runs} runs / {rows} rows, manifest says "
                f"{info['curve_runs']} / {info['curve_rows']}"]
    return []
