"""The warehouse: a DuckDB catalog of runs, labels and artifacts, with history as Parquet files.

Open it with :meth:`Warehouse.open`; store what a source yields with :meth:`Warehouse.ingest`
(``wh.ingest(source.records(known=wh.sync_state))``), or one :class:`~runlab.sources.RunRecord`
with :meth:`Warehouse.upsert_run`; frames and analyses read through its query methods. The
warehouse never calls a source: sources hand it records.
"""

from runlab.sources import SyncState
from runlab.warehouse._ingest import IngestReport
from runlab.warehouse._schema import SCHEMA_VERSION
from runlab.warehouse._transfer import read_export_manifest
from runlab.warehouse._types import UpsertResult, UpsertStatus
from runlab.warehouse._warehouse import LABEL_ORIGINS, Warehouse, default_home

__all__ = [
    "LABEL_ORIGINS",
    "SCHEMA_VERSION",
    "IngestReport",
    "SyncState",
    "UpsertResult",
    "UpsertStatus",
    "Warehouse",
    "default_home",
    "read_export_manifest",
]
