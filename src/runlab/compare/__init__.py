"""Frame-level comparison: from runs in the warehouse (or a tidy frame) to a score matrix to results.

The array statistics of :mod:`runlab.stats` take rliable's ``{method: ndarray(num_runs, num_tasks)}``.
Real experiments rarely arrive that way: a run belongs to a method through a label or a config
value, a task is a :class:`runlab.frames.TaskSpec` (a config value or a metric-name capture) or
the metric itself, and a curve has to be reduced to one number. :func:`score_matrix` builds the
matrix from a tidy frame (made with :func:`runlab.frames.tidy_frame` when given a warehouse) and
keeps what it could not use in the :class:`runlab.frames.MissingReport`; :func:`compare` turns the
matrix into one :class:`CompareResult`; :func:`efficiency_curves` follows the same runs, tasks and
normalisation along training.
"""

from runlab.compare._build import score_matrix
from runlab.compare._compare import CompareResult, Profile, compare
from runlab.compare._efficiency import Efficiency, efficiency_curves
from runlab.compare._matrix import IncompleteDataWarning, ScoreMatrix, from_score_dict

__all__ = [
    "CompareResult",
    "Efficiency",
    "IncompleteDataWarning",
    "Profile",
    "ScoreMatrix",
    "compare",
    "efficiency_curves",
    "from_score_dict",
    "score_matrix",
]
