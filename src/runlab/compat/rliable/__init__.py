"""rliable 1.2's public API on runlab's statistics: change the imports, keep the script.

.. code:: python

    from runlab.compat.rliable import library as rly      # was: from rliable import library as rly
    from runlab.compat.rliable import metrics             # was: from rliable import metrics
    from runlab.compat.rliable import plot_utils          # was: from rliable import plot_utils

Signatures, defaults, return types and shapes are rliable's. Random draws come from numpy's
global RNG as in rliable (so ``np.random.seed(0)`` makes a script reproducible); every resampling
function also takes ``seed=``. Calls whose statistic runlab recognises -- rliable's metrics, a
lambda returning an array of them, performance profiles, probability of improvement -- run on
the count-based engine; any other callable is resampled like rliable does, with a
:class:`runlab.stats.SlowPathWarning`.

Deliberate differences: scores with NaN/inf raise :class:`runlab.errors.InputError` instead of
propagating NaN, and BCa's jackknife centre is taken per metric (arch pools it across metrics).
"""
