"""Poisson bootstrap over persons: the weights of a replicate and its weighted sums, on every core.

Shared by the bootstrap of need (:mod:`vsvrisk.allocate.uncertainty`) and the paired comparison
of need shares (:mod:`vsvrisk.evaluate.paired`), which are library packages that do not import
each other. A replicate *r* gives person *i* an independent Poisson(1) weight: how often *i* is
drawn when persons are drawn with replacement a Poisson(n) number of times. The weight is the
inverse-CDF draw ``w = #{k : u >= THRESHOLDS[k]}`` of one uniform 32-bit integer ``u`` of the
replicate's own stream (:func:`generator`; :func:`random_words` says which bits), so replicate *r*
is the same whatever the number of replicates, the thread that computes it or the number of
threads.

The bits come from numpy (``BitGenerator.random_raw``, which releases the GIL): one 64-bit word
gives two persons their weights, less than half the time of a uniform double each (1.4 against
3.1 ns a person measured); the thresholds put each Poisson(1) probability within 2**-33 of its
exact value, far inside the replicates' own Monte Carlo error. Turning the bits into weights and
the weights into sums per group is compiled (numba, ``nogil``), so that replicates run on threads
side by side. The sums add ``w * value`` person by person in the persons' order, chunk by chunk of
:data:`CHUNK` persons, each chunk's sums added to the running total: the same doubles as
``np.bincount(codes, weights=w * values)`` per chunk.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from vsvrisk._cores import usable_cores

# Poisson(1) cumulative probabilities, scaled to 32 bits and rounded: P(w <= k) is
# THRESHOLDS[k] / 2**32 for the inverse-CDF draw  w = #{k : u >= THRESHOLDS[k]}  with u uniform on
# 0 .. 2**32 - 1. Thresholds that round to 2**32 (probabilities within 2**-33 of 1) are left out:
# weights stop at 12; Poisson(1) exceeds 12 with probability 6e-11.
_CDF = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(30)])
THRESHOLDS = np.round(_CDF * 2.0**32)
THRESHOLDS = THRESHOLDS[THRESHOLDS < 2.0**32].astype(np.uint32)
#: Persons per chunk: the work arrays stay in cache. A constant, not a parameter, because the
#: order of summation (and so the last bits of a sum) depends on it. Even: a chunk's persons
#: take whole 64-bit words.
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
        return usable_cores()
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


def random_words(stream: np.random.Generator, n: int) -> np.ndarray:
    """The next ``ceil(n / 2)`` 64-bit words of ``stream`` (uint64): persons ``2j`` and ``2j + 1``
    take the low and the high 32 bits of word ``j`` as their uniform ``u``.

    Examples
    --------
    >>> words = random_words(generator(1, 0), 3)
    >>> words.dtype, words.size
    (dtype('uint64'), 2)
    """
    return stream.bit_generator.random_raw((n + 1) // 2)


def draw_weights(stream: np.random.Generator, out: np.ndarray) -> int:
    """Fill ``out`` (uint8, one per person) with the Poisson(1) weights of ``stream``; return their
    sum (counted on the way: one pass less over the weights)."""
    total = 0
    for start in range(0, out.size, CHUNK):
        stop = min(start + CHUNK, out.size)
        total += int(_poisson_counts(random_words(stream, stop - start), THRESHOLDS, out[start:stop]))
    return total


def weighted_sums(stream: np.random.Generator, codes: np.ndarray, columns: tuple, out: tuple) -> None:
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
        _poisson_sums(random_words(stream, stop - start), THRESHOLDS, codes[start:stop],
                      tuple(column[start:stop] for column in columns), local)
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


def sorted_prefix(weights: np.ndarray, order: np.ndarray, target: float, sorted_weights: np.ndarray) -> tuple[int, int]:
    """Walk the persons in ``order`` until their weights reach ``target``.

    Fills ``sorted_weights[k] = weights[order[k]]`` for ``k`` up to the crossing person, the
    first whose running total is at least ``target`` (the last person if none is), and returns
    that ``k`` and the running total there. Only the top of the order is read: for a top share
    of 40% about 40% of the persons, where a running total of every person would read them all
    and write eight bytes each (the total is whole and exact, as a float it was exact below 2**53).
    """
    return _sorted_prefix(weights, order, float(target), sorted_weights)


def fill_sorted(weights: np.ndarray, order: np.ndarray, sorted_weights: np.ndarray, start: int, stop: int) -> None:
    """``sorted_weights[k] = weights[order[k]]`` for ``k`` in ``start:stop``."""
    _fill_sorted(weights, order, sorted_weights, start, stop)


@njit(**_JIT)
def _uniform(words, i):  # pragma: no cover - compiled
    # Person i's 32 bits: the low half of word i // 2 for even i, the high half for odd i.
    return (words[i >> 1] >> np.uint64(32 * (i & 1))) & np.uint64(0xFFFFFFFF)


@njit(**_JIT)
def _poisson(u, thresholds):  # pragma: no cover - compiled
    # Four comparisons settle 98.1% of the draws (w <= 3) without a branch; the rest count on.
    w = (u >= thresholds[0]) + (u >= thresholds[1]) + (u >= thresholds[2]) + (u >= thresholds[3])
    if w == 4:
        while w < thresholds.size and u >= thresholds[w]:
            w += 1
    return w


@njit(**_JIT)
def _poisson_counts(words, thresholds, out):  # pragma: no cover - compiled
    # Two passes: the four comparisons without a branch, a word (two persons) at a time (they
    # vectorise: 1.5x faster than one pass with the branch), then the 1.9% of draws above 3
    # counted on.
    t0, t1, t2, t3 = (np.uint32(thresholds[0]), np.uint32(thresholds[1]), np.uint32(thresholds[2]),
                      np.uint32(thresholds[3]))
    pairs = out.size >> 1
    for j in range(pairs):
        low, high = np.uint32(words[j] & np.uint64(0xFFFFFFFF)), np.uint32(words[j] >> np.uint64(32))
        out[2 * j] = np.uint8(low >= t0) + np.uint8(low >= t1) + np.uint8(low >= t2) + np.uint8(low >= t3)
        out[2 * j + 1] = np.uint8(high >= t0) + np.uint8(high >= t1) + np.uint8(high >= t2) + np.uint8(high >= t3)
    if out.size & 1:
        out[out.size - 1] = _poisson(_uniform(words, out.size - 1), thresholds)
    total = 0
    for i in range(out.size):
        if out[i] == 4:
            out[i] = _poisson(_uniform(words, i), thresholds)
        total += out[i]
    return total


@njit(**_JIT)
def _poisson_sums(words, thresholds, codes, columns, out):  # pragma: no cover - compiled
    # The weights first (the vectorised counts), then the sums: 15% faster than one pass that
    # draws each weight where it is added. ``columns`` and ``out`` are tuples: their length is
    # part of the compiled type, so the loop over columns is unrolled (a loop over the columns
    # of a 2-d array measured 1.7x slower).
    weights = np.empty(codes.size, dtype=np.uint8)
    _poisson_counts(words, thresholds, weights)
    for j in range(len(out)):
        out[j][:] = 0.0
    for i in range(codes.size):
        weight = np.float64(weights[i])
        g = codes[i]
        for j in range(len(columns)):
            out[j][g] += weight * columns[j][i]


@njit(**_JIT)
def _group_sums(codes, weights, values, start, stop, out):  # pragma: no cover - compiled
    out[:] = 0.0
    for i in range(start, stop):
        out[codes[i]] += np.float64(weights[i]) * values[i]


@njit(**_JIT)
def _sorted_prefix(weights, order, target, sorted_weights):  # pragma: no cover - compiled
    total = 0
    for k in range(order.size):
        w = weights[order[k]]
        sorted_weights[k] = w
        total += w
        if np.float64(total) >= target:
            return k, total
    return order.size - 1, total


@njit(**_JIT)
def _fill_sorted(weights, order, sorted_weights, start, stop):  # pragma: no cover - compiled
    for k in range(start, stop):
        sorted_weights[k] = weights[order[k]]
