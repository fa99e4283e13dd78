"""A DataFrame's columns as LightGBM's ``Booster.predict`` reads them, one column at a time.

LightGBM turns a DataFrame into one float matrix (``lightgbm.basic._data_from_pandas``:
category columns as the codes of the training categories, then ``DataFrame.to_numpy`` to the
common type). The table predictor needs only the columns its trees split on, each by itself:
building the whole matrix first cost it a copy of every value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsvrisk._compat import lightgbm_data_from_pandas


def lightgbm_columns(frame: pd.DataFrame, pandas_categorical, features) -> list[np.ndarray]:
    """Columns ``features`` (positions) of LightGBM's float matrix of ``frame``, each 1-D.

    Read column by column where the result is plainly the same: every column a numpy number
    or a pandas category, one of them float64 (so the matrix is float64, whatever the rest),
    unique names, and as many category columns as the model has. Elsewhere LightGBM's own
    conversion answers (or raises, as ``Booster.predict`` would). A category column holds the
    codes of the training categories, NaN for any other value.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [0.5, 1.0], "c": pd.Categorical(["b", "z"])})
    >>> lightgbm_columns(frame, [["a", "b"]], [1])
    [array([ 1., nan])]
    """
    features = [int(f) for f in features]
    wanted = set(features)
    categories = iter(pandas_categorical or [])
    columns, float64 = {}, False
    for f, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, pd.CategoricalDtype):
            category = next(categories, None)
            if category is None:
                break
            if f in wanted:
                values = frame.iloc[:, f]
                if list(values.cat.categories) != list(category):
                    values = values.cat.set_categories(category)
                codes = values.cat.codes.to_numpy()
                columns[f] = np.where(codes < 0, np.nan, codes)
        elif isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            float64 = float64 or dtype == np.float64
            if f in wanted:
                columns[f] = np.asarray(frame.iloc[:, f].to_numpy(), dtype=np.float64)
        else:
            break
    else:
        if next(categories, None) is None and float64 and frame.columns.is_unique and len(frame):
            return [columns[f] for f in features]
    matrix = lightgbm_data_from_pandas(frame, pandas_categorical)
    return [matrix[:, f] for f in features]
