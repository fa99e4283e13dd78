"""The row hashes of ``pandas.util.hash_pandas_object(frame, index=False, categorize=False)``,
with Arrow-backed text hashed straight from its buffers.

pandas hashes a text value as SipHash-2-4 of its UTF-8 bytes under the key ``"0123456789123456"``
(``pandas._libs.hashing.hash_object_array``), then spreads the 64 bits (``_hash_ndarray``), and
combines the columns of a row as CPython combines a tuple's hashes (``combine_hash_arrays``). For
an Arrow-backed text column it first turns every value into a Python string: most of the time a
national cohort's hash takes (its person ids). Here the same SipHash runs over the Arrow buffers,
which already hold the UTF-8 bytes; every other column is hashed by pandas itself. The same
64-bit numbers (tested against pandas on drawn frames); a column this does not cover (missing
text, another Arrow layout) is left to pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

__all__ = ["row_hashes"]

#: pandas' default ``hash_key``, as SipHash's two 64-bit key words (little-endian).
_KEY = np.frombuffer(b"0123456789123456", dtype="<u8")


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """``pd.util.hash_pandas_object(frame, index=False, categorize=False).to_numpy()``.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": pd.array(["a", "bé", ""], dtype="string[pyarrow]"), "x": [1, 2, 3]})
    >>> expected = pd.util.hash_pandas_object(frame, index=False, categorize=False).to_numpy()
    >>> bool(np.array_equal(row_hashes(frame), expected))
    True
    """
    columns = [_text_hashes(series) for _, series in frame.items()]
    columns = [pd.util.hash_pandas_object(series, index=False, categorize=False).to_numpy()
               if hashed is None else hashed for hashed, (_, series) in zip(columns, frame.items())]
    return _combined(columns, len(frame))


def _combined(columns: list, n_rows: int) -> np.ndarray:
    """pandas' ``combine_hash_arrays``: the row's column hashes combined as CPython's tuple hash."""
    out = np.full(n_rows, 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    for i, hashed in enumerate(columns):
        inverse = len(columns) - i
        out ^= hashed
        out *= mult
        mult += np.uint64(82520 + inverse + inverse)
    out += np.uint64(97531)
    return out


def _text_hashes(series: pd.Series) -> np.ndarray | None:
    """The spread SipHash of each value of an Arrow-backed text column without missing values,
    or None where pandas must hash the column."""
    import pyarrow as pa

    chunked = getattr(series.array, "_pa_array", None)
    if not isinstance(chunked, pa.ChunkedArray) or chunked.null_count:
        return None
    if not (pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type)):
        return None
    out = np.empty(len(chunked), dtype=np.uint64)
    start = 0
    offset_type = "<i8" if pa.types.is_large_string(chunked.type) else "<i4"
    for chunk in chunked.iterchunks():
        _, offsets, data = chunk.buffers()
        offsets = np.frombuffer(offsets, dtype=offset_type)[chunk.offset:chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        _siphash_rows(data, offsets.astype(np.int64), _KEY[0], _KEY[1], out[start:start + len(chunk)])
        start += len(chunk)
    return out


@njit(cache=True, nogil=True)
def _rotl(x, b):  # pragma: no cover - compiled
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit(cache=True, nogil=True)
def _siphash_rows(data, offsets, k0, k1, out):  # pragma: no cover - compiled
    """SipHash-2-4 of each ``data[offsets[i]:offsets[i + 1]]``, spread as pandas spreads it."""
    for i in range(out.size):
        first, length = offsets[i], offsets[i + 1] - offsets[i]
        v0 = k0 ^ np.uint64(0x736F6D6570736575)
        v1 = k1 ^ np.uint64(0x646F72616E646F6D)
        v2 = k0 ^ np.uint64(0x6C7967656E657261)
        v3 = k1 ^ np.uint64(0x7465646279746573)
        whole = length - length % 8
        for at in range(0, whole + 8, 8):
            word = np.uint64(0)
            if at < whole:  # a whole little-endian word
                for j in range(8):
                    word |= np.uint64(data[first + at + j]) << np.uint64(8 * j)
            else:  # the last bytes, and the length in the top byte
                for j in range(length - whole):
                    word |= np.uint64(data[first + at + j]) << np.uint64(8 * j)
                word |= np.uint64(length & 0xFF) << np.uint64(56)
            v3 ^= word
            for _ in range(2):
                v0, v1, v2, v3 = _round(v0, v1, v2, v3)
            v0 ^= word
        v2 ^= np.uint64(0xFF)
        for _ in range(4):
            v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        value = v0 ^ v1 ^ v2 ^ v3
        # pandas' _hash_ndarray: the 64 bits spread (splitmix64's finaliser)
        value ^= value >> np.uint64(30)
        value *= np.uint64(0xBF58476D1CE4E5B9)
        value ^= value >> np.uint64(27)
        value *= np.uint64(0x94D049BB133111EB)
        value ^= value >> np.uint64(31)
        out[i] = value


@njit(cache=True, nogil=True)
def _round(v0, v1, v2, v3):  # pragma: no cover - compiled
    v0 += v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3
