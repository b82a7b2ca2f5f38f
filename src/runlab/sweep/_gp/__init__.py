"""Private GP maths for Protein: Matérn-5/2 ARD kernel, MAP hyperparameter fit, prediction,
acquisition functions. numpy/scipy only: at a few hundred observations a Cholesky is a
millisecond, so torch would only add import time."""

from runlab.sweep._gp._acquisition import (
    expected_improvement,
    log_expected_improvement,
    upper_confidence_bound,
)
from runlab.sweep._gp._model import GaussianProcess, fit_gp

__all__ = [
    "GaussianProcess",
    "expected_improvement",
    "fit_gp",
    "log_expected_improvement",
    "upper_confidence_bound",
]
