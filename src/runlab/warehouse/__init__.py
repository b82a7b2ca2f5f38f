"""The warehouse: a DuckDB catalog of runs, labels and artifacts, with history as Parquet files.

Open it with :meth:`Warehouse.open`; every source writes :class:`~runlab.sources.RunRecord`
objects with :meth:`Warehouse.upsert_run`; frames and analyses read through its query methods.
"""

from runlab.warehouse._ingest import IngestSummary, ingest_offline
from runlab.warehouse._schema import SCHEMA_VERSION
from runlab.warehouse._types import SyncState, UpsertResult, UpsertStatus
from runlab.warehouse._warehouse import LABEL_ORIGINS, Warehouse, default_home

__all__ = [
    "LABEL_ORIGINS",
    "SCHEMA_VERSION",
    "IngestSummary",
    "SyncState",
    "UpsertResult",
    "UpsertStatus",
    "Warehouse",
    "default_home",
    "ingest_offline",
]
