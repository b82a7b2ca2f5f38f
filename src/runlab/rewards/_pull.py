"""``pull_streams``: write streams as ``DIR/streams/<task>/<seed>.parquet`` plus ``DIR/metadata.json``.

Path parts come from :func:`runlab.rewards.safe_part` (task, seed and group names are data), and
every file is checked to lie inside ``DIR/streams`` before it is written. ``metadata.json`` keeps the
real names, so ``load_streams(DIR)`` gives back the same streams.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runlab.errors import InputError
from runlab.rewards._names import safe_parts
from runlab.rewards._streams import RewardStreams

FORMAT = "runlab.reward_streams/1"
_FILE_COLUMNS = ["run_id", "sample_index", "raw_sample_index", "episode", "agent_step", "sps", "reward"]


def pull_streams(streams: RewardStreams, out_dir: str | Path, *,
                 on_progress: Callable[[int, int], None] | None = None) -> Path:
    """Write every stream and the metadata file; returns the path of ``metadata.json``."""
    out = Path(out_dir).expanduser().resolve()
    root = out / "streams"
    root.mkdir(parents=True, exist_ok=True)
    d = streams.data
    task_parts = safe_parts(d["task"])
    seed_parts = safe_parts(d["seed"])
    group_parts = safe_parts(g for g in d["group"] if g)
    entries: list[dict[str, Any]] = []
    groups = list(d.groupby(["group", "task", "seed"], sort=False))
    for i, ((group, task, seed), part) in enumerate(groups):
        rel = Path("streams", *([group_parts[group]] if group else []), task_parts[task], f"{seed_parts[seed]}.parquet")
        file = (out / rel).resolve()
        if root.resolve() not in file.parents:
            raise InputError(f"stream path {rel} would leave {root}", hint="report this: names are sanitised")
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(file.name + ".tmp")
        part[_FILE_COLUMNS].to_parquet(tmp, index=False)
        os.replace(tmp, file)
        meta = dict(streams.metadata.get((group, task, seed), {}))
        entries.append({**meta, "group": group, "task": task, "seed": seed, "path": rel.as_posix(),
                        "samples": len(part)})
        if on_progress is not None:
            on_progress(i + 1, len(groups))
    doc = {"format": FORMAT, "written_at": datetime.now(UTC).isoformat(), "streams": entries,
           "problems": [p.__dict__ for p in streams.problems]}
    meta_file = out / "metadata.json"
    meta_file.write_text(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
    return meta_file
