"""Private GP maths for Protein: Matérn-5/2 ARD kernel, MAP hyperparameter fit, prediction
with input gradients, acquisition functions and their multi-start gradient ascent.
numpy/scipy only: at a few hundred observations a Cholesky is a millisecond, so torch would
only add import time."""

from runlab.sweep._gp._acquisition import (
    expected_improvement,
    log_expected_improvement,
    log_expected_improvement_grad,
    upper_confidence_bound,
)
from runlab.sweep._gp._model import GaussianProcess, fit_gp
from runlab.sweep._gp._optimize import maximize_from_starts

__all__ = [
    "GaussianProcess",
    "expected_improvement",
    "fit_gp",
    "log_expected_improvement",
    "log_expected_improvement_grad",
    "maximize_from_starts",
    "upper_confidence_bound",
]
