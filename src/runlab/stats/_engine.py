"""Vectorised stratified bootstrap: resample counts, not resampled arrays.

A stratified resample of a ``(R runs, T tasks)`` matrix is fully described by how often each
of the ``N = R*T`` scores was drawn. The engine draws those counts for a chunk of reps at once,
``counts[t*R + r, c]`` = times run ``r`` of task ``t`` is drawn in rep ``c``, and evaluates
statistics on them directly:

* mean, optimality gap, task means and run-score profiles are linear in the counts, so a whole
  chunk is one matrix product ``W @ counts``;
* a trimmed mean (IQM) needs order statistics of the pooled resample. With the scores sorted
  once (``v``), the resample's sum of its ``k`` smallest values is
  ``S(k) = k*v[-1] + sum_j min(cum_j, k) * (v[j] - v[j+1])`` where ``cum`` is the cumulative
  count in sorted order -- one cumulative sum and one clip per chunk, no per-rep sort.

Anything the engine does not know (a user callable) goes through :func:`values_batches`, which
materialises each resample like rliable does, still seeded and chunked. Chunks hold about
``_CHUNK_ELEMS`` counts so peak memory stays in the low hundreds of MB whatever ``reps`` is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

_CHUNK_ELEMS = 1 << 20
#: Above this many runs, counting by bincount beats one comparison pass per run.
_COMPARE_MAX_RUNS = 24


def chunk_sizes(reps: int, elems_per_rep: int) -> Iterator[int]:
    """Split ``reps`` into chunks of about ``_CHUNK_ELEMS / elems_per_rep`` (deterministic)."""
    size = max(16, min(reps, _CHUNK_ELEMS // max(1, elems_per_rep)))
    done = 0
    while done < reps:
        n = min(size, reps - done)
        yield n
        done += n


def draw_counts(rng: np.random.Generator, runs: int, tasks: int, chunk: int) -> np.ndarray:
    """Counts ``(tasks*runs, chunk)``: row ``t*runs + r`` = draws of run ``r`` within task ``t``.

    Each (task, rep) is an independent multinomial(runs, uniform) -- runs resampled with
    replacement within each task, independently per task.
    """
    # uint16 draws are generated faster than uint8 ones by numpy's bounded-integer sampler
    idx = rng.integers(0, runs, size=(tasks, runs, chunk), dtype=np.uint16)  # (T, draw, rep)
    if runs <= _COMPARE_MAX_RUNS:
        out = np.empty((tasks, runs, chunk), dtype=np.uint8)
        for r in range(runs):
            np.sum(idx == r, axis=1, dtype=np.uint8, out=out[:, r])
        return out.reshape(tasks * runs, chunk)
    # (T, draw, rep) -> flat bin (t*runs + value)*chunk + rep
    bins = idx.astype(np.intp)
    bins += (np.arange(tasks, dtype=np.intp) * runs)[:, None, None]
    bins *= chunk
    bins += np.arange(chunk, dtype=np.intp)
    counts = np.bincount(bins.ravel(), minlength=tasks * runs * chunk)
    return counts.reshape(tasks * runs, chunk)


def draw_resample_indices(
    rng: np.random.Generator, runs: int, tasks: int, chunk: int, task_bootstrap: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Run indices ``(chunk, runs, tasks)`` and task indices ``(chunk, 1, tasks)`` of resamples.

    Slot ``j`` of a resample is task ``task_idx[j]`` with runs ``run_idx[:, j]`` (rliable's layout);
    without ``task_bootstrap`` slot ``j`` is task ``j``.
    """
    run_idx = rng.integers(0, runs, size=(chunk, runs, tasks))
    if task_bootstrap:
        task_idx = rng.integers(0, tasks, size=(chunk, 1, tasks))
    else:
        task_idx = np.broadcast_to(np.arange(tasks), (chunk, 1, tasks))
    return run_idx, task_idx


def values_batches(
    scores: np.ndarray, reps: int, rng: np.random.Generator, task_bootstrap: bool
) -> Iterator[np.ndarray]:
    """Materialised resamples ``(chunk, runs, tasks, ...)`` -- for statistics the engine can't count."""
    runs, tasks = scores.shape[:2]
    for chunk in chunk_sizes(reps, scores.size):
        run_idx, task_idx = draw_resample_indices(rng, runs, tasks, chunk, task_bootstrap)
        yield scores[run_idx, task_idx]


@dataclass
class Sorted:
    """A score matrix ``(R, T)`` prepared for count-based statistics (sorted once)."""

    scores: np.ndarray
    runs: int = field(init=False)
    tasks: int = field(init=False)
    by_task: np.ndarray = field(init=False)  # (T, R): scores in the counts' (t*R + r) layout
    order: np.ndarray = field(init=False)  # sorted position -> row of the (t*R + r) layout
    v: np.ndarray = field(init=False)  # scores in ascending order

    def __post_init__(self) -> None:
        self.runs, self.tasks = self.scores.shape
        self.by_task = np.ascontiguousarray(self.scores.T)
        self.order = np.argsort(self.by_task.ravel(), kind="stable")
        self.v = self.by_task.ravel()[self.order]

    @property
    def n(self) -> int:
        return self.v.size


class CountChunk:
    """The counts of one chunk of resamples, with the views statistics need (each made once).

    Linear statistics use float counts in the draw layout (row ``t*R + r``); only the trimmed
    mean needs the sorted order, and it works on the small integer counts directly.
    """

    def __init__(self, prep: Sorted, counts: np.ndarray) -> None:
        self.prep = prep
        self.counts = counts  # (N, chunk) small ints, (t*R + r) layout
        self.size = counts.shape[1]
        self._float: np.ndarray | None = None
        self._task_sums: np.ndarray | None = None

    @property
    def float_counts(self) -> np.ndarray:
        """``(N, chunk)`` float64 counts, ``(t*R + r)`` layout."""
        if self._float is None:
            self._float = self.counts.astype(np.float64)
        return self._float

    def weighted_sums(self, weights: np.ndarray) -> np.ndarray:
        """``(k, chunk)`` sums of ``weights (k, N)`` (given per score, ``(t*R + r)`` layout) over each resample."""
        return weights @ self.float_counts

    @property
    def task_sums(self) -> np.ndarray:
        """``(T, chunk)`` sum of each task's resampled scores."""
        if self._task_sums is None:
            p = self.prep
            c3 = self.float_counts.reshape(p.tasks, p.runs, self.size)
            self._task_sums = np.matmul(p.by_task[:, None, :], c3)[:, 0, :]
        return self._task_sums

    def mean(self) -> np.ndarray:
        """``(chunk,)`` mean of each resample."""
        return self.task_sums.sum(axis=0) / self.prep.n

    def clipped_mean(self, gamma: float) -> np.ndarray:
        """``(chunk,)`` mean of ``min(score, gamma)`` of each resample."""
        # einsum, not BLAS: a 1 x N gemv gains nothing from threads and suffers badly from
        # OpenBLAS thread contention on a busy machine
        clipped = np.minimum(self.prep.by_task.ravel(), gamma)
        return np.einsum("j,jc->c", clipped, self.float_counts) / self.prep.n

    def median_task_mean(self) -> np.ndarray:
        """``(chunk,)`` median over tasks of the per-task resample means."""
        srt = np.sort(self.task_sums, axis=0) / self.prep.runs
        t = self.prep.tasks
        return srt[t // 2] if t % 2 else 0.5 * (srt[t // 2 - 1] + srt[t // 2])

    def trimmed_mean(self, trim: float) -> np.ndarray:
        """``(chunk,)`` trimmed mean of each pooled resample (``int(trim*N)`` cut at each end).

        The running count is exact in float32 (small integers) and the weighted sum of the clipped counts
        against the score gaps ``v[j] - v[j+1]`` is done in float32: gaps are on the scale of the
        spread, not of the scores, so the error is ~1e-7 of the spread -- far below the
        Monte-Carlo error of any bootstrap -- while the offset terms stay float64.
        """
        p = self.prep
        lo = int(trim * p.n)
        hi = p.n - lo
        # running count of the sorted scores, in place; float32 holds these integers exactly,
        # and a row loop beats cumsum(axis=0) several-fold on C-ordered data
        cum = self.counts[p.order[:-1]].astype(np.float32)  # the last row's running count is N
        for j in range(1, p.n - 1):
            np.add(cum[j - 1], cum[j], out=cum[j])
        np.clip(cum, lo, hi, out=cum)
        dv = (p.v[:-1] - p.v[1:]).astype(np.float32)
        v0, vn = p.v[0], p.v[-1]
        total = np.einsum("j,jc->c", dv, cum).astype(np.float64) - lo * (v0 - vn) + (hi - lo) * vn
        return total / (hi - lo)
