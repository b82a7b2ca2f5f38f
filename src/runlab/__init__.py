"""runlab: the whole life of reinforcement-learning experiments.

Collect W&B runs into a local warehouse, compare methods with reliable statistics,
analyse reward streams, sweep hyperparameters with Protein, and report.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
