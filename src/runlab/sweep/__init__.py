"""Hyperparameter sweeps: parameter spaces, the Protein optimiser, random and grid search.

``Protein`` (cost-aware GP over the cost-score Pareto front), ``RandomSearch`` and ``GridSearch``
share one interface: ``suggest() -> (nested dict, info)``, ``observe(...)``, ``mark_pending`` /
``clear_pending``. ``make_optimizer`` picks one from the config's ``method``.
"""

from runlab.sweep._best import (
    RankedTrial,
    best_trials,
    format_number,
    override_args,
    params_yaml,
    patch_text,
    rank_trials,
    train_command,
    write_patch,
)
from runlab.sweep._dispatch import TrialOutcome, TrialSpec, execute_trial, hydra_overrides
from runlab.sweep._grid import GridSearch
from runlab.sweep._optimizer import Observation, SearchExhaustedError, SweepOptimizer
from runlab.sweep._plots import (
    Importance,
    parameter_importance,
    pareto_front,
    plot_importance,
    plot_objective,
    plot_pareto,
    save_sweep_plots,
)
from runlab.sweep._protein import Protein, make_optimizer
from runlab.sweep._random import RandomSearch
from runlab.sweep._runner import (
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
# Sweep store, runner, W&B bridge and best-params exports.
__all__ += [
    "TRIAL_STATES",
    "Importance",
    "RankedTrial",
    "RunnerOptions",
    "SweepInfo",
    "SweepReport",
    "SweepRunner",
    "SweepStore",
    "TooManyFailuresError",
    "Trial",
    "TrialOutcome",
    "TrialSpec",
    "WandbObservation",
    "best_trials",
    "execute_trial",
    "format_number",
    "hydra_overrides",
    "import_from_warehouse",
    "import_observations",
    "init_sweep",
    "observation_summary",
    "observations_from_runs",
    "open_store",
    "override_args",
    "parameter_importance",
    "params_yaml",
    "pareto_front",
    "patch_text",
    "plot_importance",
    "plot_objective",
    "plot_pareto",
    "rank_trials",
    "rebuild_optimizer",
    "report_result",
    "run_sweep",
    "save_sweep_plots",
    "sweep_dir",
    "train_command",
    "write_patch",
]
