"""Protein for Optuna users: :class:`ProteinSampler`, and runlab sweeps exported as Optuna studies.

Switching an Optuna study to Protein is one line::

    study = optuna.create_study(sampler=ProteinSampler(seed=0))

The sampler is stateless: every suggestion is computed from the study's trials alone, as Optuna's
storages see them, so any number of workers on one RDB storage (``sqlite:///``, PostgreSQL...)
share one search. What each trial means to Protein:

* ``COMPLETE``: an observation, its value the score and its cost ``trial.user_attrs["cost"]``
  when set (a finite positive number), else the trial's duration in seconds;
* ``FAIL`` and ``PRUNED``: failures, never successes (Protein's feasibility model steers away);
* ``RUNNING`` trials of any worker: pending (constant liar). The parameters a trial was given are
  written to its system attributes the moment they are sampled, so another worker sees them
  before the objective has asked for them.

The joint (relative) search space is the intersection of the completed trials' distributions,
as for Optuna's GP sampler: floats (linear, log, step), integers (linear, log, step) and
categoricals, each mapped onto one coordinate of Protein's box. Parameters outside it (dynamic or
conditional ones, and every parameter of the first trial) are drawn uniformly, by Optuna's
``RandomSampler`` seeded per trial (or by the ``independent_sampler`` given). Protein optimises one objective: multi-objective studies
raise ``ValueError``.

Importing this module imports optuna; ``import runlab.sweep`` does not.
"""

from runlab.sweep._optuna_export import OptunaExport, export_to_optuna, optuna_distributions
from runlab.sweep._optuna_sampler import COST_ATTR, COST_USER_ATTR, PARAMS_ATTR, ProteinSampler, trial_cost

__all__ = [
    "COST_ATTR",
    "COST_USER_ATTR",
    "PARAMS_ATTR",
    "OptunaExport",
    "ProteinSampler",
    "export_to_optuna",
    "optuna_distributions",
    "trial_cost",
]
