"""Which rows repeat a (person_id, school_year) pair: exact, and fast on millions of text ids.

Hashing 3 million text ids is the cost of the rule: pandas' factorize (pyarrow's
``dictionary_encode`` underneath) takes about 0.7 s a national table. The ids arrive as Arrow
strings, whose bytes lie in one buffer with an offset per row, so numpy can read them as 64-bit
words without making a Python string of any of them: each row gets a *fingerprint* of its length
and its first 32 and last 16 bytes, mixed with the school year. Equal pairs have equal
fingerprints, so a row whose fingerprint no other row has cannot be a duplicate; sorting the
fingerprints finds the rows that might be, and only those go through the exact comparison of
the text. A fingerprint that collides costs time, never a wrong answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

#: Masks that keep the first 0..8 bytes of a little-endian word.
_BYTE_MASKS = np.array([(1 << (8 * count)) - 1 for count in range(9)], dtype=np.uint64)
_HEAD_WORDS, _TAIL_BYTES = 4, 16  # the first 32 bytes, and the last 16 of a longer id
_BLOCK_ROWS = 1 << 16
_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93,
                         0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3],
                        dtype=np.uint64)


def _duplicated_within_year(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose (person_id, school_year) pair occurs more than once; a gap in either is not a pair."""
    ids, years = frame["person_id"], frame["school_year"]
    fingerprints = _text_fingerprints(ids)
    if fingerprints is None or not pd.api.types.is_integer_dtype(years.dtype):
        return _duplicated_exactly(ids, years)
    rows = np.flatnonzero((ids.notna() & years.notna()).to_numpy())
    with np.errstate(over="ignore"):  # multiplied modulo 2**64 on purpose
        year = years.to_numpy(dtype=np.int64, na_value=0).view(np.uint64)
        keys = (fingerprints ^ (year * _MULTIPLIERS[7]))[rows]
    ordered = np.sort(keys)  # 0.07 s for 3 M keys, where a hash table of them takes 0.6 s
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    duplicated = np.zeros(len(frame), dtype=bool)
    if len(repeated):  # the rows whose fingerprint another row has, compared by their text
        repeated = np.unique(repeated)
        rows = rows[repeated[np.minimum(np.searchsorted(repeated, keys), len(repeated) - 1)] == keys]
        duplicated[rows] = _duplicated_exactly(ids.iloc[rows], years.iloc[rows])
    return duplicated


def _duplicated_exactly(ids: pd.Series, years: pd.Series) -> np.ndarray:
    # Codes of both columns and a count per pair: twice as fast as DataFrame.duplicated on
    # millions of text ids, which builds a hash table of the pairs.
    id_codes, _ = pd.factorize(ids)
    year_codes, _ = pd.factorize(years)
    known = (id_codes >= 0) & (year_codes >= 0)
    pair = (id_codes.astype(np.int64) * (int(year_codes.max(initial=0)) + 1) + year_codes)[known]
    if pair.size and pair.max() < 8 * len(ids):  # a few school years: count by position
        counts, where = np.bincount(pair), pair
    else:
        _, where, counts = np.unique(pair, return_inverse=True, return_counts=True)
    duplicated = np.zeros(len(ids), dtype=bool)
    duplicated[known] = counts[where] > 1
    return duplicated


def _text_fingerprints(values: pd.Series) -> np.ndarray | None:
    """A 64-bit fingerprint of each Arrow-backed text value (equal text, equal value); else None."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    array = pa.array(values.array)
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    if not all(chunk.type in (pa.string(), pa.large_string()) for chunk in chunks):
        return None  # e.g. string_view: no offsets buffer to read
    chunks = [chunk for chunk in chunks if len(chunk)]
    if not chunks:
        return np.zeros(0, dtype=np.uint64)
    offsets = [_offsets(chunk) for chunk in chunks]
    # Every chunk reads as many words, so that equal text in two chunks is read alike.
    longest = max(int(np.diff(where).max()) for where in offsets)
    return np.concatenate([_chunk_fingerprints(chunk, where, longest)
                           for chunk, where in zip(chunks, offsets, strict=True)])


def _offsets(chunk: pa.Array) -> np.ndarray:
    offset_type = np.int64 if chunk.type == pa.large_string() else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=offset_type)
    return offsets[chunk.offset: chunk.offset + len(chunk) + 1].astype(np.int64)


def _chunk_fingerprints(chunk: pa.Array, offsets: np.ndarray, longest: int) -> np.ndarray:
    data_buffer = chunk.buffers()[2]
    first, last = int(offsets[0]), int(offsets[-1])
    # The bytes of these rows, zero-padded so that every word read below lies inside.
    padded = np.zeros((last - first) // 8 * 8 + 8 * (_HEAD_WORDS + 3), dtype=np.uint8)
    if data_buffer is not None and last > first:
        padded[: last - first] = np.frombuffer(data_buffer, dtype=np.uint8)[first:last]
    words = padded.view("<u8")  # little-endian on any machine: the masks keep a word's first bytes
    starts, lengths = offsets[:-1] - first, np.diff(offsets)
    fingerprints = np.empty(len(chunk), dtype=np.uint64)
    # In blocks whose temporaries stay in the cache: one chunk of 3 M rows took twice as long.
    for block in range(0, len(chunk), _BLOCK_ROWS):
        rows = slice(block, block + _BLOCK_ROWS)
        fingerprints[rows] = _block_fingerprints(words, starts[rows], lengths[rows], longest)
    return fingerprints


def _block_fingerprints(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray, longest: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        state = lengths.astype(np.uint64) * _MULTIPLIERS[0]
        for word in range(min(_HEAD_WORDS, -(-longest // 8))):
            state = _absorb(state, _word(words, starts, lengths, word), word + 1)
        if longest > 8 * _HEAD_WORDS:  # long ids: their last bytes too
            tail = np.minimum(lengths, _TAIL_BYTES)
            for word in range(_TAIL_BYTES // 8):
                state = _absorb(state, _word(words, starts + lengths - tail, tail, word), word + 5)
    return state


def _word(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray, index: int) -> np.ndarray:
    """Bytes 8*index .. 8*index+7 of each row as a little-endian word, zero past its end."""
    at = starts + 8 * index
    word, shift = at >> 3, ((at & 7) * 8).astype(np.uint64)
    # An unaligned read from two aligned words; the second shift in two steps, so that an
    # aligned read (shift 0) shifts the next word out entirely instead of by 64.
    low = words[word] >> shift
    high = (words[word + 1] << (np.uint64(63) - shift)) << np.uint64(1)
    return (low | high) & _BYTE_MASKS[np.clip(lengths - 8 * index, 0, 8)]


def _absorb(state: np.ndarray, word: np.ndarray, round_: int) -> np.ndarray:
    return _mix(state ^ (word * _MULTIPLIERS[round_ % len(_MULTIPLIERS)]))


def _mix(state: np.ndarray) -> np.ndarray:
    # splitmix64's finaliser: every input bit reaches every output bit.
    state = (state ^ (state >> np.uint64(30))) * _MULTIPLIERS[1]
    state = (state ^ (state >> np.uint64(27))) * _MULTIPLIERS[2]
    return state ^ (state >> np.uint64(31))
