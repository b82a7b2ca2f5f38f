"""Drop-in replacements for other libraries' APIs, served by runlab's engines.

``runlab.compat.rliable`` mirrors rliable 1.2 (``library``, ``metrics``, ``plot_utils``): change
the import lines of an rliable script and it gets the same answers from runlab's count-based
bootstrap. The compatibility modules only translate calls; the statistics live in
:mod:`runlab.stats` and the figures in :mod:`runlab.plots`.
"""
