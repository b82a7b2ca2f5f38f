"""Training-curve prediction: from a run's environment and agent config to its reward curve.

Pieces, in the order data flows through them: :class:`CurveDataset` (curves on one grid, from
files or the warehouse, with a report of every run left out), :class:`FeatureSpec` /
:class:`FeatureEncoder` (config paths -> features, fit on training runs only),
:class:`MetaAnalysisModel` / :class:`MetaAnalysisTrainer` (two VAEs and a reward predictor),
:class:`CurvePredictor` (the calibrated deep ensemble with prefix conditioning), the baselines,
:func:`evaluate` (held-out scores for all of them) and :class:`CurvePruner` (the sweep hook).
"""

from runlab.curves._baselines import (
    BoostedTreesBaseline,
    LastValueBaseline,
    MeanCurveBaseline,
    NearestConfigsBaseline,
    Pow3Baseline,
)
from runlab.curves._config import CurveModelConfig
from runlab.curves._dataset import CurveDataset, DatasetReport, parse_config
from runlab.curves._demo import predictions_frame, run_curves_demo
from runlab.curves._evaluate import CONFIG_MODELS, PREFIX_MODELS, EvaluationResult, evaluate, model_factories
from runlab.curves._features import (
    DEFAULT_AGENT_FEATURES,
    DEFAULT_ENV_FEATURES,
    FeatureEncoder,
    FeatureSpec,
    TargetScaler,
)
from runlab.curves._model import ConfigVAE, MetaAnalysisModel, RewardPredictor
from runlab.curves._persist import MODEL_FORMAT, MODEL_VERSION, load_predictor, read_manifest, save_predictor
from runlab.curves._plots import plot_example_curves, plot_latent_space, plot_predicted_vs_actual
from runlab.curves._prediction import CurvePrediction, crps_gaussian, crps_samples, curve_scores
from runlab.curves._predictor import CurvePredictor
from runlab.curves._pruner import CurvePruner, observed_on_grid, read_progress, replay_pruning
from runlab.curves._report import markdown_report, markdown_table, write_report
from runlab.curves._splits import Fold, make_folds, parse_split
from runlab.curves._synthetic import synthetic_mean_curve, synthetic_runs
from runlab.curves._trainer import MetaAnalysisTrainer, make_loader

__all__ = [
    "CONFIG_MODELS",
    "DEFAULT_AGENT_FEATURES",
    "DEFAULT_ENV_FEATURES",
    "MODEL_FORMAT",
    "MODEL_VERSION",
    "PREFIX_MODELS",
    "BoostedTreesBaseline",
    "ConfigVAE",
    "CurveDataset",
    "CurveModelConfig",
    "CurvePrediction",
    "CurvePredictor",
    "CurvePruner",
    "DatasetReport",
    "EvaluationResult",
    "FeatureEncoder",
    "FeatureSpec",
    "Fold",
    "LastValueBaseline",
    "MeanCurveBaseline",
    "MetaAnalysisModel",
    "MetaAnalysisTrainer",
    "NearestConfigsBaseline",
    "Pow3Baseline",
    "RewardPredictor",
    "TargetScaler",
    "crps_gaussian",
    "crps_samples",
    "curve_scores",
    "evaluate",
    "load_predictor",
    "make_folds",
    "make_loader",
    "markdown_report",
    "markdown_table",
    "model_factories",
    "observed_on_grid",
    "parse_config",
    "parse_split",
    "plot_example_curves",
    "plot_latent_space",
    "plot_predicted_vs_actual",
    "predictions_frame",
    "read_manifest",
    "read_progress",
    "replay_pruning",
    "run_curves_demo",
    "save_predictor",
    "synthetic_mean_curve",
    "synthetic_runs",
    "write_report",
]
