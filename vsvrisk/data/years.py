"""The rows of one school year of a person-year table."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["school_year_rows"]


def school_year_rows(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """``frame[frame["school_year"] == year]``: the rows of one school year, in their order.

    Where those rows are consecutive (a file written cohort after cohort, as
    :func:`~vsvrisk.data.write_person_years` writes a synthetic population), the result is a
    slice of ``frame`` rather than a copy of every column: the same rows, index and values, without
    copying a national cohort (a third of a second or more a selection).

    Parameters
    ----------
    frame : DataFrame
        A person-year table with a column ``school_year``.
    year : int
        The first calendar year of the school year (2019 for 2019/20).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> frame = pd.DataFrame({"school_year": [2018, 2018, 2019, 2019], "vsv": [0, 1, 0, 0]})
    >>> school_year_rows(frame, 2019).index.tolist()
    [2, 3]
    """
    rows = np.flatnonzero(pd.array(frame["school_year"] == year, dtype="boolean").to_numpy(dtype=bool, na_value=False))
    if rows.size and rows[-1] - rows[0] + 1 == rows.size:
        return frame.iloc[rows[0]:rows[-1] + 1]
    return frame.iloc[rows]
