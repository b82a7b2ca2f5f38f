"""Reports: the comparison config model, executed notebooks, one-file HTML, LaTeX, CSV, W&B export.

``build_report(wh, config, out_dir)`` writes every format from one analysis, so all of them show
the same numbers.
"""

from runlab.reports._analysis import Analysis, analyse, check_requested_metrics, compare_matrix, matrix_for
from runlab.reports._build import ReportFiles, build_report
from runlab.reports._config import CompareConfig, SampleEfficiencySection, load_config, validate_config
from runlab.reports._efficiency import Efficiency, efficiency
from runlab.reports._html import render_html, table_html
from runlab.reports._latex import estimates_latex, latex_escape, tests_latex
from runlab.reports._notebook import build_notebook, ensure_kernel, write_notebook
from runlab.reports._wandb_report import publish_wandb_report

__all__ = [
    "Analysis",
    "CompareConfig",
    "Efficiency",
    "ReportFiles",
    "SampleEfficiencySection",
    "analyse",
    "build_notebook",
    "build_report",
    "check_requested_metrics",
    "compare_matrix",
    "efficiency",
    "ensure_kernel",
    "estimates_latex",
    "latex_escape",
    "load_config",
    "matrix_for",
    "publish_wandb_report",
    "render_html",
    "table_html",
    "tests_latex",
    "validate_config",
    "write_notebook",
]
