"""Analysis-ready frames from the warehouse: tidy and wide, aligned, resampled, labelled.

:func:`tidy_frame` is the entry point; the heavy lifting happens in DuckDB, pandas holds only
the result. :func:`export_history` / :func:`export_runs` / :func:`export_frame` write CSV or Parquet.
"""

from runlab.configpath import config_value, flatten
from runlab.frames._export import export_frame, export_history, export_runs, runs_table
from runlab.frames._lttb import lttb_indices
from runlab.frames._report import MissingReport
from runlab.frames._spec import INTERPOLATIONS, Downsample, Interpolation, TaskSpec
from runlab.frames._tidy import tidy_frame
from runlab.frames._wide import wide

__all__ = [
    "INTERPOLATIONS",
    "Downsample",
    "Interpolation",
    "MissingReport",
    "TaskSpec",
    "config_value",
    "export_frame",
    "export_history",
    "export_runs",
    "flatten",
    "lttb_indices",
    "runs_table",
    "tidy_frame",
    "wide",
]
