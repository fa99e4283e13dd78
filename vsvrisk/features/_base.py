"""Input checks shared by the feature transformers: a DataFrame in, a DataFrame out.

The transformers read named columns of the person-year table (DESIGN section 4), so a pandas
DataFrame is the normal input and passes through untouched: its dtypes carry the codes, and
converting 1.5 million rows to a NumPy object array would cost both time and the categories.
Anything else goes through scikit-learn's ``validate_data`` (2-D, dense) and is given
scikit-learn's default column names ``x0, x1, ...``, which is what makes the generic estimator
checks meaningful for the transformers that can work on plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from vsvrisk._compat import _check_feature_names_in

from vsvrisk.exceptions import SchemaError

__all__: list[str] = []


def check_frame(estimator, X, *, reset: bool) -> pd.DataFrame:
    """Check ``X`` against what ``fit`` saw and return it as a DataFrame.

    ``reset=True`` (in ``fit``) records ``n_features_in_`` and, for a DataFrame,
    ``feature_names_in_``; ``reset=False`` (in ``transform``) checks them, with scikit-learn's
    own messages.
    """
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        return X
    X = validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite=False)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])], copy=False)


def require_columns(X: pd.DataFrame, names: Iterable[str], who: str) -> None:
    """Raise a ``SchemaError`` naming every column in ``names`` that ``X`` lacks."""
    names = list(names)
    missing = [name for name in names if name not in X.columns]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise SchemaError(
            f"{who}: column{'s' if len(missing) > 1 else ''} {listed} not found in X; "
            f"it needs {', '.join(names)}: add the column or change the transformer's parameters"
        )


def first_rows(mask: np.ndarray, index: pd.Index, limit: int = 3) -> str:
    """A few index labels of the rows where ``mask`` holds, for an error message."""
    labels = index[np.flatnonzero(mask)[:limit]]
    return ", ".join(str(label) for label in labels)


def feature_names_out(estimator, input_features, names) -> np.ndarray:
    """Validate ``input_features`` as scikit-learn does and return ``names`` as an array."""
    _check_feature_names_in(estimator, input_features)
    return np.asarray(list(names), dtype=object)
