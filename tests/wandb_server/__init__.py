"""A local W&B backend that the real ``wandb.Api`` client (through wandb-core) can talk to.

Start it, point ``WANDB_BASE_URL`` at ``server.url``, feed it runs (from offline run directories
written by the real wandb client, or built directly) with their artifacts, and sweeps; inject
faults, and count requests.
"""

from ._artifacts import StoredArtifact, StoredSweep, stored_artifact_from_record
from ._filters import matches
from ._server import Fault, Request, WandbTestServer
from ._store import StoredRun, stored_run_from_record

__all__ = [
    "Fault",
    "Request",
    "StoredArtifact",
    "StoredRun",
    "StoredSweep",
    "WandbTestServer",
    "matches",
    "stored_artifact_from_record",
    "stored_run_from_record",
]
