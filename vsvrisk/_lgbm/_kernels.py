"""Compiled loops of :mod:`vsvrisk._lgbm.classes`: a column's classes, and the distinct rows.

Each loop is one pass over its input where numpy needed one a step (``abs``, ``where``,
``searchsorted``, ``trunc``, ...), and releases the GIL, so that the columns of a matrix are
encoded on several threads. Imported when rows are encoded, not with the classes (numba loads
only then).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(nogil=True, cache=True, boundscheck=False, error_model="numpy")
#: Multiplier of the hash (Fibonacci hashing: 2^64 divided by the golden ratio).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(**_JIT)
def _count_below(ordered, value):  # pragma: no cover - compiled
    """How many of ``ordered`` are below ``value``: ``np.searchsorted(ordered, value, side="left")``."""
    low, high = 0, ordered.size
    while low < high:
        middle = (low + high) >> 1
        if ordered[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


@njit(**_JIT)
def encode_numerical(x, thresholds, nan_class, zero_threshold, sparse, out):  # pragma: no cover - compiled
    """``out[i] = 2 * (thresholds below x) + (x is zero)``, NaN ``nan_class`` (``FeatureClasses.encode``)."""
    for i in range(x.size):
        value = np.float64(x[i])
        if np.isnan(value):
            out[i] = nan_class
            continue
        zero = abs(value) <= zero_threshold
        if zero and not sparse:
            value = 0.0
        out[i] = 2 * _count_below(thresholds, value) + (1 if zero else 0)


@njit(**_JIT)
def encode_categorical(x, categories, table, int_limit, out):  # pragma: no cover - compiled
    """``out[i]`` = 1 + the position of ``x``'s category among ``categories``, or 0 (right everywhere).

    ``table`` maps a category code to its class where the codes are small enough for one
    (``table[-1]`` standing for every code above), and is empty where they are searched.
    """
    size = categories.size
    for i in range(x.size):
        value = np.float64(x[i])
        if not (value > -1.0 and value < int_limit):  # NaN fails both; -0.5 truncates to 0
            out[i] = 0
            continue
        code = np.int64(value)  # truncates toward zero, as static_cast<int>
        if table.size:
            out[i] = table[min(code, table.size - 1)]
            continue
        at = _count_below(categories, code)
        out[i] = at + 1 if at < size and categories[at] == code else 0


@njit(**_JIT)
def _slot(key, bits):  # pragma: no cover - compiled
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(64 - bits))


@njit(**_JIT)
def number_keys(key):  # pragma: no cover - compiled
    """Each key's number in order of first appearance, and the first row and key of each number.

    Open addressing in a table of at least twice as many slots as distinct keys (doubled as
    they come), a slot's key and number side by side (one cache line a look-up): one pass, no sort.
    """
    n = key.size
    bits = 10
    while (1 << bits) < 2 * min(n, 1 << 16):
        bits += 1
    slots = np.full(2 << bits, -1, dtype=np.int64)  # key, number (-1: free) of each slot
    firsts = np.empty(min(n, 1 << 16), dtype=np.int64)
    numbers = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        value = key[i]
        slot = _slot(value, bits)
        while True:
            number = slots[2 * slot + 1]
            if number < 0:
                if count == firsts.size:
                    grown = np.empty(2 * firsts.size, dtype=np.int64)
                    grown[:count] = firsts[:count]
                    firsts = grown
                firsts[count] = i
                slots[2 * slot], slots[2 * slot + 1] = value, count
                number = count
                count += 1
                if 2 * count > (1 << bits):  # too full: twice the slots, every key placed again
                    bits += 1
                    slots = np.full(2 << bits, -1, dtype=np.int64)
                    for k in range(count):
                        s = _slot(key[firsts[k]], bits)
                        while slots[2 * s + 1] >= 0:
                            s = (s + 1) & ((1 << bits) - 1)
                        slots[2 * s], slots[2 * s + 1] = key[firsts[k]], k
                break
            if slots[2 * slot] == value:
                break
            slot = (slot + 1) & ((1 << bits) - 1)
        numbers[i] = number
    firsts = firsts[:count]
    keys = np.empty(count, dtype=np.int64)
    for k in range(count):
        keys[k] = key[firsts[k]]
    return numbers, firsts, keys


@njit(**_JIT)
def add_digit(key, radix, digits):  # pragma: no cover - compiled
    """``key = key * radix + digits`` in place (one mixed-radix digit more)."""
    for i in range(key.size):
        key[i] = key[i] * radix + digits[i]
