"""Shared test suites shipped with runlab, so a new implementation of an interface reuses them.

Like ``optuna.testing``, each suite is a pytest class with no ``Test`` prefix: a project's test
module subclasses it (``class TestMine(OptimizerSuite): optimizer_class = Mine``) and pytest runs
every inherited test against that implementation. The suites need pytest, which runlab itself
does not; nothing is imported here, so ``import runlab.testing`` is free. Modules:

* :mod:`runlab.testing.sweep`: ``OptimizerSuite`` (Protein, random and grid search, or any
  :class:`runlab.sweep.SweepOptimizer`) and ``DispatcherSuite`` (local processes, Ray, or any
  :class:`runlab.sweep.Dispatcher`).
* :mod:`runlab.testing.sources`: ``SourceSuite`` (the W&B offline reader, the W&B API collector,
  or any :class:`runlab.sources.RunSource`).
"""
