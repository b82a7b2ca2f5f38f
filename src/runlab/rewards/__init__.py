"""LP reward streams: load per-(task, seed) reward streams, measure them, replay LP curricula on them.

``load_streams`` (warehouse, CSV/Parquet, or a folder ``pull_streams`` wrote) -> ``RewardStreams``;
``analyze`` -> ``StreamAnalysis`` (rate of change, sampling noise, seed vs task variance, SPS
correlation, recommendations); ``LPScorer`` + ``replay`` run a learning-progress curriculum offline
on a recorded episode stream; ``sweep_scorer`` tunes a scorer with Protein against a replay
objective; ``write_analysis`` / ``write_replay`` write tables, figures, Markdown and HTML.
"""

from runlab.rewards._analyze import StreamAnalysis, analyze
from runlab.rewards._figures import (
    plot_noise_distribution,
    plot_replay,
    plot_reward_streams,
    plot_slope_noise_bands,
    plot_variance,
)
from runlab.rewards._load import DEFAULT_METRIC, load_streams
from runlab.rewards._names import safe_part, safe_parts
from runlab.rewards._pull import pull_streams
from runlab.rewards._recommend import min_timescale
from runlab.rewards._replay import ReplayResult, replay
from runlab.rewards._report import ReportFiles, write_analysis, write_replay
from runlab.rewards._scorer import COMMON as COMMON_SETTINGS
from runlab.rewards._scorer import PRESETS, LPScorer
from runlab.rewards._streams import STREAM_COLUMNS, RewardStreams, StreamProblem, normalize_streams
from runlab.rewards._sweep import DEFAULT_SPACES, OBJECTIVES, ScorerSweep, objective_value, sweep_scorer

__all__ = [
    "COMMON_SETTINGS",
    "DEFAULT_METRIC",
    "DEFAULT_SPACES",
    "OBJECTIVES",
    "PRESETS",
    "STREAM_COLUMNS",
    "LPScorer",
    "ReplayResult",
    "ReportFiles",
    "RewardStreams",
    "ScorerSweep",
    "StreamAnalysis",
    "StreamProblem",
    "analyze",
    "load_streams",
    "min_timescale",
    "normalize_streams",
    "objective_value",
    "plot_noise_distribution",
    "plot_replay",
    "plot_reward_streams",
    "plot_slope_noise_bands",
    "plot_variance",
    "pull_streams",
    "replay",
    "safe_part",
    "safe_parts",
    "sweep_scorer",
    "write_analysis",
    "write_replay",
]
