"""The warehouse's small helpers that the layers above it use (frames, labels, the CLI).

SQL literals and single-row reads for queries composed over :meth:`Warehouse.history_query`,
unique tokens and atomic temp paths for files written next to the warehouse's own, run-id
shortening and the glob rules run and metric selection follow. They live in the warehouse's
private modules; this module is their one public door, so no other package imports those.
"""

from runlab.warehouse._codec import one, sql_ident, sql_str, strict_json
from runlab.warehouse._layout import CATALOG, new_token, tmp_path_for
from runlab.warehouse._resolve import glob_match, is_glob, match_metrics, short_id

__all__ = [
    "CATALOG",
    "glob_match",
    "is_glob",
    "match_metrics",
    "new_token",
    "one",
    "short_id",
    "sql_ident",
    "sql_str",
    "strict_json",
    "tmp_path_for",
]
