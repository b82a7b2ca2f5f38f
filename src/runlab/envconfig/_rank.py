"""Which process of a distributed job this is: only rank 0 tracks env configs."""

from __future__ import annotations

import os
import sys

from runlab.errors import InputError


def process_rank() -> int:
    """``torch.distributed``'s rank when it is initialised, else ``$RANK``, else 0.

    torch is consulted only when the trainer already imported ``torch.distributed``, so a
    tracker in a torch-free trainer never loads it.
    """
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    value = os.environ.get("RANK", "").strip()
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise InputError(f"environment variable RANK must be an integer, got {value!r}",
                         hint="unset RANK, or set it to this process's rank (0 writes the history)") from None
