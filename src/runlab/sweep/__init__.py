"""Hyperparameter sweeps: parameter spaces, the Protein optimiser, random and grid search, the
sweep store, the runner and its dispatchers.

The parts are joined by narrow typed interfaces, as in Optuna: an :class:`Optimizer`
(``suggest`` / ``observe`` / ``mark_pending``; ``Protein``, ``RandomSearch`` and ``GridSearch``
share the :class:`SweepOptimizer` base, ``make_optimizer`` picks one from the config's ``method``),
the :class:`SweepStore`, a :class:`Dispatcher` (``submit`` / ``abort`` / ``close``; local
processes or Ray tasks), the :class:`ObjectiveSource` chain a finished trial is read through and
an optional :class:`Pruner` that stops hopeless trials early from their progress lines.
``SweepRunner(store, optimizer, dispatcher, ...)`` drives them; :func:`run_sweep` builds the
usual ones. ``runlab.sweep.optuna`` (imported on its own, it needs optuna) makes Protein an
Optuna sampler; the shared test suites live in :mod:`runlab.testing.sweep`.
"""

from runlab.sweep._best import (
    RankedTrial,
    best_trials,
    format_number,
    override_args,
    params_yaml,
    patch_name,
    patch_text,
    rank_trials,
    train_command,
    write_patch,
)
from runlab.sweep._catalog import SweepSummary, list_sweeps, open_existing_store, summarize
from runlab.sweep._dispatch import Dispatcher, LocalDispatcher, RayDispatcher, make_dispatcher
from runlab.sweep._grid import GridSearch
from runlab.sweep._objective import (
    DEFAULT_SOURCES,
    ObjectiveSource,
    ResultsFile,
    StdoutJson,
    WandbSummary,
    read_objective,
)
from runlab.sweep._optimizer import Observation, Optimizer, SearchExhaustedError, SweepOptimizer
from runlab.sweep._overrides import format_float, format_override_value, hydra_overrides
from runlab.sweep._pareto import pareto_front
from runlab.sweep._plots import (
    Importance,
    parameter_importance,
    plot_importance,
    plot_objective,
    plot_pareto,
    save_sweep_plots,
)
from runlab.sweep._protein import Protein, make_optimizer
from runlab.sweep._pruning import ProgressReader, PruneDecision, Pruner, PruningSpec
from runlab.sweep._random import RandomSearch
from runlab.sweep._runner import (
    EventHandler,
    RunnerOptions,
    SweepReport,
    SweepRunner,
    TooManyFailuresError,
    init_sweep,
    open_store,
    rebuild_optimizer,
    run_sweep,
    sweep_dir,
)
from runlab.sweep._space import (
    CategoricalParam,
    NumericParam,
    ParameterSpace,
    ProteinSettings,
    SweepConfig,
    load_sweep_config,
)
from runlab.sweep._store import TRIAL_STATES, SweepInfo, SweepStore, Trial
from runlab.sweep._trial import TrialOutcome, TrialSpec, execute_trial
from runlab.sweep._wandb import (
    WandbObservation,
    import_from_warehouse,
    import_observations,
    observation_summary,
    observations_from_runs,
    report_result,
)

__all__ = [
    "CategoricalParam",
    "GridSearch",
    "NumericParam",
    "Observation",
    "Optimizer",
    "ParameterSpace",
    "Protein",
    "ProteinSettings",
    "RandomSearch",
    "SearchExhaustedError",
    "SweepConfig",
    "SweepOptimizer",
    "load_sweep_config",
    "make_optimizer",
]
# Sweep store, runner, dispatchers, objective sources, W&B bridge and best-params exports.
__all__ += [
    "DEFAULT_SOURCES",
    "TRIAL_STATES",
    "Dispatcher",
    "EventHandler",
    "Importance",
    "LocalDispatcher",
    "ObjectiveSource",
    "ProgressReader",
    "PruneDecision",
    "Pruner",
    "PruningSpec",
    "RankedTrial",
    "RayDispatcher",
    "ResultsFile",
    "RunnerOptions",
    "StdoutJson",
    "SweepInfo",
    "SweepReport",
    "SweepRunner",
    "SweepStore",
    "SweepSummary",
    "TooManyFailuresError",
    "Trial",
    "TrialOutcome",
    "TrialSpec",
    "WandbObservation",
    "WandbSummary",
    "best_trials",
    "execute_trial",
    "format_float",
    "format_number",
    "format_override_value",
    "hydra_overrides",
    "import_from_warehouse",
    "import_observations",
    "init_sweep",
    "list_sweeps",
    "make_dispatcher",
    "observation_summary",
    "observations_from_runs",
    "open_existing_store",
    "open_store",
    "override_args",
    "parameter_importance",
    "params_yaml",
    "pareto_front",
    "patch_name",
    "patch_text",
    "plot_importance",
    "plot_objective",
    "plot_pareto",
    "rank_trials",
    "read_objective",
    "rebuild_optimizer",
    "report_result",
    "run_sweep",
    "save_sweep_plots",
    "summarize",
    "sweep_dir",
    "train_command",
    "write_patch",
]
