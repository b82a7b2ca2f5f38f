"""Env-config tracking: which environment configurations were in play during training, and analysis.

Training side: :class:`ConfigTracker` (``record()`` once per epoch, ``finish()`` at the end) logs
``env/*`` and ``curriculum/*`` metrics and uploads a differential :class:`ConfigHistory` as a W&B
artifact of type ``environment_configs``. Analysis side: :func:`load_history` (warehouse, offline
run folder, file or W&B API; three formats) and the history's questions (``at_epoch``,
``changes``, ``task_frequencies``, ``unique_configs``, ``key_parameters``, ``to_frame``), plus
:func:`summary`, :func:`correlate`, ``--where`` filters and CSV / replay-sequence exports.
Importing this package loads neither wandb nor pandas nor matplotlib.
"""

from runlab.envconfig._analysis import (
    Condition,
    correlate,
    export_csv,
    export_sequence,
    matching_configs,
    neutralise_cell,
    parse_where,
    read_sequence,
    summary,
)
from runlab.envconfig._canonical import canonical_json, hash_config
from runlab.envconfig._figures import write_figures
from runlab.envconfig._formats import FORMAT_ORIGINAL, FORMAT_V1
from runlab.envconfig._history import FORMAT, Change, ConfigHistory, EpochState, Span, TaskEntry
from runlab.envconfig._keys import DEFAULT_KEY_PARAMS, KeyParams
from runlab.envconfig._load import from_wandb_api, from_warehouse, load_history, read_history_file
from runlab.envconfig._rank import process_rank
from runlab.envconfig._report import epoch_text, printable, summary_text
from runlab.envconfig._tracker import ARTIFACT_TYPE, HISTORY_FILE, ConfigTracker, MetricLogger

__all__ = [
    "ARTIFACT_TYPE",
    "DEFAULT_KEY_PARAMS",
    "FORMAT",
    "FORMAT_ORIGINAL",
    "FORMAT_V1",
    "HISTORY_FILE",
    "Change",
    "Condition",
    "ConfigHistory",
    "ConfigTracker",
    "EpochState",
    "KeyParams",
    "MetricLogger",
    "Span",
    "TaskEntry",
    "canonical_json",
    "correlate",
    "epoch_text",
    "export_csv",
    "export_sequence",
    "from_wandb_api",
    "from_warehouse",
    "hash_config",
    "load_history",
    "matching_configs",
    "neutralise_cell",
    "parse_where",
    "printable",
    "process_rank",
    "read_history_file",
    "read_sequence",
    "summary",
    "summary_text",
    "write_figures",
]
