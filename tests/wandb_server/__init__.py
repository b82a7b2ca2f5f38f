"""A local W&B backend that the real ``wandb.Api`` client (through wandb-core) can talk to.

Start it, point ``WANDB_BASE_URL`` at ``server.url``, feed it runs (from offline run directories
written by the real wandb client, or built directly), inject faults, and count requests.
"""

from ._filters import matches
from ._server import Fault, Request, WandbTestServer
from ._store import StoredRun, stored_run_from_record

__all__ = ["Fault", "Request", "StoredRun", "WandbTestServer", "matches", "stored_run_from_record"]
