"""Sources: W&B API, W&B offline run directories, files. They yield :class:`RunRecord` objects.

The contract between sources and the warehouse lives here: :class:`RunRecord` (one run, whatever
its origin), the :class:`RecordBatch` a source answers with (records, :class:`RunUnchanged` and
:class:`RunFailure` items) and the :class:`SyncState` it may look up through ``known``. Sources
never import the warehouse; the implementations are the public modules
:mod:`runlab.sources.wandb_offline` (``WandBOfflineReader``) and :mod:`runlab.sources.wandb_api`
(``WandBCollector``).
"""

from runlab.sources._batch import (
    Known,
    RecordBatch,
    RunFailure,
    RunSource,
    RunUnchanged,
    SourceItem,
    SyncState,
)
from runlab.sources._record import HISTORY_SCHEMA, X_AXES, ArtifactRecord, RunRecord

__all__ = [
    "HISTORY_SCHEMA",
    "X_AXES",
    "ArtifactRecord",
    "Known",
    "RecordBatch",
    "RunFailure",
    "RunRecord",
    "RunSource",
    "RunUnchanged",
    "SourceItem",
    "SyncState",
]
