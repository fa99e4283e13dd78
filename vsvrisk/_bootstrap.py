"""Poisson bootstrap over persons: the weights of a replicate and its weighted sums, on every core.

Shared by the bootstrap of need (:mod:`vsvrisk.allocate.uncertainty`) and the paired comparison
of need shares (:mod:`vsvrisk.evaluate.paired`), which are library packages that do not import
each other. A replicate *r* gives person *i* an independent Poisson(1) weight: how often *i* is
drawn when persons are drawn with replacement a Poisson(n) number of times. The weight is the
inverse-CDF draw ``w = #{k : cdf[k] <= u}`` of one uniform double ``u`` of the replicate's own
stream (:func:`generator`), so replicate *r* is the same whatever the number of replicates, the
thread that computes it or the number of threads.

The uniforms come from numpy (``Generator.random(out=...)``, which releases the GIL); turning
them into weights and the weights into sums per group is compiled (numba, ``nogil``), so that
replicates run on threads side by side. The sums add ``w * value`` person by person in the
persons' order, chunk by chunk of :data:`CHUNK` persons, each chunk's sums added to the running
total: the same doubles as ``np.bincount(codes, weights=w * values)`` per chunk.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

# Poisson(1) cumulative probabilities up to the last one below 1.0 in double precision: the
# inverse-CDF draw  w = #{k : cdf[k] <= u}  with u uniform on [0, 1) is then exact.
CDF = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(30)])
CDF = CDF[CDF < 1.0]
#: Persons per chunk: the work arrays stay in cache. A constant, not a parameter, because the
#: order of summation (and so the last bits of a sum) depends on it.
CHUNK = 1 << 18
#: Replicates a thread takes at a time (small, so that a thread slowed by other work on the
#: machine holds up little at the end).
_TASK = 4
# numba caches the compiled kernels next to this file, so only the first run compiles them.
_JIT = {"nogil": True, "cache": True, "fastmath": False, "boundscheck": False, "error_model": "numpy"}


def generator(seed: int, replicate: int) -> np.random.Generator:
    """The random stream of replicate ``replicate``: one independent stream per replicate.

    Examples
    --------
    >>> generator(1, 0).random() == generator(1, 0).random() != generator(1, 1).random()
    True
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate,)))


def n_threads(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or -1 every core this process may use, else ``n_jobs`` (>= 1)."""
    if n_jobs is None or n_jobs == -1:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, int(n_jobs))


def for_each_replicate(function, n_replicates: int, n_jobs: int | None, make_buffers) -> None:
    """Call ``function(r, buffers)`` for every replicate ``r`` on :func:`n_threads` threads.

    Each thread gets its own ``buffers = make_buffers()`` (the work arrays of one replicate);
    ``function`` writes its result where the caller wants it (row *r* of a matrix).
    """
    jobs = min(n_threads(n_jobs), max(1, n_replicates))
    local = threading.local()

    def run(first: int) -> None:
        if not hasattr(local, "buffers"):
            local.buffers = make_buffers()
        for replicate in range(first, min(first + _TASK, n_replicates)):
            function(replicate, local.buffers)

    starts = range(0, n_replicates, _TASK)
    if jobs == 1:
        for first in starts:
            run(first)
        return
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(run, starts))  # list(): an error in a thread is raised here


def draw_weights(stream: np.random.Generator, out: np.ndarray, uniform: np.ndarray) -> None:
    """Fill ``out`` (uint8, one per person) with the Poisson(1) weights of ``stream``.

    ``uniform`` is a work array of ``min(out.size, CHUNK)`` doubles.
    """
    for start in range(0, out.size, CHUNK):
        stop = min(start + CHUNK, out.size)
        u = uniform[: stop - start]
        stream.random(out=u)
        _poisson_counts(u, CDF, out[start:stop])


def weighted_sums(stream: np.random.Generator, codes: np.ndarray, columns: tuple, out: tuple,
                  uniform: np.ndarray) -> None:
    """``out[j][g] = sum of w[i] * columns[j][i]`` over the persons *i* of group ``g = codes[i]``,
    with ``w`` the Poisson(1) weights of ``stream`` (as :func:`draw_weights` draws them).

    ``codes`` are small whole numbers (:func:`group_codes`) below ``out[j].size``; ``columns`` a
    tuple of C-contiguous float arrays, one value per person; ``out`` a tuple of as many float
    arrays, set, not added to. The weights are drawn once for all columns.
    """
    columns = tuple(_read_only(column) for column in columns)  # one compiled type for the tuple
    local = tuple(np.empty_like(sums) for sums in out)
    for sums in out:
        sums[:] = 0.0
    for start in range(0, codes.size, CHUNK):
        stop = min(start + CHUNK, codes.size)
        u = uniform[: stop - start]
        stream.random(out=u)
        _poisson_sums(u, CDF, codes[start:stop], tuple(column[start:stop] for column in columns), local)
        for sums, part in zip(out, local):
            sums += part


def _read_only(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


def group_codes(codes: np.ndarray) -> np.ndarray:
    """``codes`` (whole numbers >= 0) in the smallest type that holds them: the compiled sums
    read every code once a replicate, and one byte a person is 8x fewer bytes from memory than
    eight (1.4x faster sums measured at 1.5 M persons)."""
    return codes.astype(np.uint8 if codes.size == 0 or codes.max() < 256 else np.intp)


def group_sums(codes: np.ndarray, weights: np.ndarray, values: np.ndarray, start: int, stop: int,
               out: np.ndarray) -> np.ndarray:
    """``out[g] = sum of weights[i] * values[i]`` over ``i`` in ``start:stop`` with ``codes[i] == g``:
    ``np.bincount(codes[start:stop], weights=weights[start:stop] * values[start:stop])``, the
    same doubles, without the GIL or a temporary."""
    _group_sums(codes, weights, values, start, stop, out)
    return out


def cumulative_sorted(weights: np.ndarray, order: np.ndarray, sorted_weights: np.ndarray,
                      cumulative: np.ndarray) -> None:
    """``sorted_weights = weights[order]`` and ``cumulative`` its running total.

    The total is kept in an integer and stored as a double: exact below 2**53, and a float
    array is what the binary search of the cut-off compares with a float target without
    converting the whole array first (3 ms a replicate at 1.5 M persons).
    """
    _cumulative_sorted(weights, order, sorted_weights, cumulative)


@njit(**_JIT)
def _poisson(u, cdf):  # pragma: no cover - compiled
    # Four comparisons settle 98.1% of the draws (w <= 3) without a branch; the rest count on.
    w = (u >= cdf[0]) + (u >= cdf[1]) + (u >= cdf[2]) + (u >= cdf[3])
    if w == 4:
        while w < cdf.size and u >= cdf[w]:
            w += 1
    return w


@njit(**_JIT)
def _poisson_counts(uniform, cdf, out):  # pragma: no cover - compiled
    # Two passes: the four comparisons without a branch (they vectorise: 1.5x faster than
    # one pass with the branch), then the 1.9% of draws above 3 counted on.
    c0, c1, c2, c3 = cdf[0], cdf[1], cdf[2], cdf[3]
    for i in range(uniform.size):
        u = uniform[i]
        out[i] = np.uint8(u >= c0) + np.uint8(u >= c1) + np.uint8(u >= c2) + np.uint8(u >= c3)
    for i in range(uniform.size):
        if out[i] == 4:
            out[i] = _poisson(uniform[i], cdf)


@njit(**_JIT)
def _poisson_sums(uniform, cdf, codes, columns, out):  # pragma: no cover - compiled
    # ``columns`` and ``out`` are tuples: their length is part of the compiled type, so the loop
    # over columns is unrolled (a loop over the columns of a 2-d array measured 1.7x slower).
    for j in range(len(out)):
        out[j][:] = 0.0
    for i in range(uniform.size):
        weight = np.float64(_poisson(uniform[i], cdf))
        g = codes[i]
        for j in range(len(columns)):
            out[j][g] += weight * columns[j][i]


@njit(**_JIT)
def _group_sums(codes, weights, values, start, stop, out):  # pragma: no cover - compiled
    out[:] = 0.0
    for i in range(start, stop):
        out[codes[i]] += np.float64(weights[i]) * values[i]


@njit(**_JIT)
def _cumulative_sorted(weights, order, sorted_weights, cumulative):  # pragma: no cover - compiled
    total = 0
    for i in range(order.size):
        w = weights[order[i]]
        sorted_weights[i] = w
        total += w
        cumulative[i] = total
