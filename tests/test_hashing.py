"""Row hashes of Arrow-backed text from its buffers: pandas' own numbers, on drawn frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk._hashing import row_hashes

# Lengths around SipHash's 8-byte words, and characters of one to four UTF-8 bytes.
texts = st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
                 min_size=1, max_size=60)


def _pandas(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False, categorize=False).to_numpy()


@settings(max_examples=150, deadline=None)
@given(values=texts, large=st.booleans(), n_chunks=st.integers(1, 4), cut=st.integers(0, 5))
def test_text_hashes_are_pandas_hashes_whatever_the_arrow_layout(values, large, n_chunks, cut):
    # chunks of a sliced array: the offsets of each chunk start inside the buffers
    kind = pa.large_string() if large else pa.string()
    whole = pa.array(["x"] * cut + values, type=kind).slice(cut)
    bounds = np.linspace(0, len(values), n_chunks + 1).astype(int)
    chunked = pa.chunked_array([whole.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:])], type=kind)
    frame = pd.DataFrame({"id": pd.array(chunked, dtype=pd.ArrowDtype(kind)),
                          "stored": pd.array(values, dtype="string[pyarrow]"),
                          "n": np.arange(len(values)), "flag": np.arange(len(values)) % 2 == 0})
    np.testing.assert_array_equal(row_hashes(frame), _pandas(frame))


def test_missing_text_and_other_layouts_are_left_to_pandas():
    frame = pd.DataFrame({"id": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
                          "plain": np.array(["a", "b", "c"], dtype=object),
                          "category": pd.Categorical(["x", "y", "x"]), "x": [0.5, -0.0, np.nan]})
    np.testing.assert_array_equal(row_hashes(frame), _pandas(frame))
    assert len(row_hashes(frame.iloc[:0])) == 0


def test_a_changed_character_changes_the_row_hash():
    frame = pd.DataFrame({"id": pd.array(["0123456789", "abcdefgh"], dtype="string[pyarrow]")})
    changed = frame.assign(id=pd.array(["0123456789", "abcdefgi"], dtype="string[pyarrow]"))
    first, second = row_hashes(frame), row_hashes(changed)
    assert first[0] == second[0] and first[1] != second[1]
