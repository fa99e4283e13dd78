"""Disclosure control: what leaves the library is an aggregate that cannot point at a person.

DESIGN section 11: the microdata stay in CBS's Remote Access environment; every table vsvrisk
writes passes :func:`suppress_small_cells` (cells based on fewer than ``threshold`` persons are
blanked) and :func:`assert_no_person_rows` (no person-level table is written at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from vsvrisk.exceptions import ConfigError, DisclosureError

__all__ = ["DisclosureError", "suppress_small_cells", "assert_no_person_rows"]

# Columns that identify a row rather than measure something: never blanked, because a blank
# key would make the row meaningless and a key reveals nothing about the persons behind it.
_KEY_NAMES = frozenset({"school_year", "year", "sector", "region_name"})
_KEY_SUFFIXES = ("_code", "_id")


def _is_key(name: object) -> bool:
    text = str(name)
    return text in _KEY_NAMES or text.endswith(_KEY_SUFFIXES)


def _is_measure(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _secondary(counts: np.ndarray, small: np.ndarray, threshold: float) -> np.ndarray:
    """Also blank the smallest remaining cells until the blanked cells cannot be recovered.

    With a published total, one blanked cell is total minus the others; several blanked cells
    whose counts add up to less than the threshold are, together, a small cell again.
    """
    small = small.copy()
    while small.any() and not small.all():
        # An unknown count adds nothing that can be relied on, hence nansum.
        if small.sum() >= 2 and np.nansum(counts[small]) >= threshold:
            break
        # np.argmin takes the first of equal counts: the row that comes first in the table.
        remaining = np.where(small | np.isnan(counts), np.inf, counts)
        if np.isinf(remaining).all():
            break
        small[int(np.argmin(remaining))] = True
    return small


def suppress_small_cells(
    table: pd.DataFrame,
    count_column: str = "n_persons",
    threshold: int = 10,
    columns: Sequence[str] | None = None,
    *,
    total_published: bool = True,
) -> pd.DataFrame:
    """Blank every measure of a row that is based on fewer than ``threshold`` persons.

    A row whose count is below the threshold (or missing) has each value in ``columns`` set to
    missing (NA), the count included, and ``suppressed`` set to True. Integer columns become
    the nullable ``Int64`` so the other rows stay whole numbers; a CSV shows a blank cell.

    Secondary suppression across linked tables or margins is out of scope: a table published
    next to totals by another dimension can still leak a blanked cell. One cheap rule is
    applied, because it closes the commonest leak: when ``total_published`` and exactly one
    row is blanked, total minus the others would give it back, so the row with the next
    smallest count is blanked as well; likewise while the blanked rows together count fewer
    than ``threshold`` persons (their sum would be a small cell itself).

    Parameters
    ----------
    table : DataFrame
        An aggregate table, one row per cell (e.g. per region).
    count_column : str, default="n_persons"
        The number of persons each row is based on.
    threshold : int, default=10
        Rows with fewer persons than this are blanked (DESIGN section 11; set in config).
    columns : sequence of str, optional
        The columns to blank. Default: every numeric column except keys (names ending in
        ``_code`` or ``_id``, ``school_year``, ``year``, ``sector``). The count column is always
        blanked.
    total_published : bool, default=True
        Whether a total over the rows is published (switches the secondary rule on).

    Returns
    -------
    DataFrame
        A copy with the blanked values and a boolean ``suppressed`` column (OR-ed with an
        existing one). ``attrs["suppression"]`` records the threshold and how many rows were
        blanked as primary and as secondary cells.

    Raises
    ------
    ConfigError
        If ``threshold`` is below 1.
    DisclosureError
        If ``count_column`` or a column in ``columns`` is missing.

    See Also
    --------
    assert_no_person_rows : the guard against person-level tables.

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [1, 2, 3], "n_persons": [9, 10, 11],
    ...                       "vsv": [2, 3, 4]})
    >>> out = suppress_small_cells(table)
    >>> out["n_persons"].tolist(), out["suppressed"].tolist()
    ([<NA>, <NA>, 11], [True, True, False])
    >>> suppress_small_cells(table, total_published=False)["vsv"].tolist()
    [<NA>, 3, 4]
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) \
            or not threshold >= 1:
        raise ConfigError(f"disclosure threshold must be a number of persons of at least 1, "
                          f"got {threshold!r}: use e.g. 10 (the CBS rule)")
    if count_column not in table.columns:
        raise DisclosureError(f"count column '{count_column}' is missing from the table, so "
                              f"small cells cannot be found: add it or name the right column")
    if columns is None:
        columns = [name for name in table.columns
                   if name != "suppressed" and not _is_key(name) and _is_measure(table[name])]
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise DisclosureError(f"columns to suppress are not in the table: {missing}; "
                              f"present are {list(table.columns)}")
    columns = list(dict.fromkeys([*columns, count_column]))

    counts = pd.to_numeric(table[count_column], errors="coerce").to_numpy(dtype=float,
                                                                           na_value=np.nan)
    primary = np.isnan(counts) | (counts < threshold)
    rows = _secondary(counts, primary, threshold) if total_published else primary

    result = table.copy()
    for name in columns:
        values = result[name]
        if pd.api.types.is_integer_dtype(values):
            values = values.astype("Int64")
        elif pd.api.types.is_bool_dtype(values):
            values = values.astype("boolean")
        result[name] = values.mask(rows)
    before = result["suppressed"].fillna(False).astype(bool).to_numpy() \
        if "suppressed" in result.columns else np.zeros(len(result), dtype=bool)
    result["suppressed"] = before | rows
    result.attrs["suppression"] = {
        "threshold": threshold, "count_column": count_column,
        "primary_rows": int(primary.sum()), "secondary_rows": int((rows & ~primary).sum()),
    }
    return result


def assert_no_person_rows(
    table: pd.DataFrame,
    id_columns: Iterable[str] | str = ("person_id",),
    max_rows: int | None = None,
) -> None:
    """Refuse a table that looks person-level, before it leaves the library.

    Used by the writers and by tracking: a person id (as a column or in the index) means the
    table holds microdata, which must not be written outside the user's own data folder.

    Parameters
    ----------
    table : DataFrame
        The table about to be written or logged.
    id_columns : str or iterable of str, default=("person_id",)
        Column or index names that identify a person.
    max_rows : int, optional
        The most rows an aggregate of this kind can have (e.g. 40 regions x 2 sectors); more
        rows suggest a person-level table even without an id.

    Raises
    ------
    DisclosureError
        If a person id is present or the table has more than ``max_rows`` rows.

    Examples
    --------
    >>> assert_no_person_rows(pd.DataFrame({"region_code": [1], "n_persons": [30]}))
    >>> assert_no_person_rows(pd.DataFrame({"person_id": [1]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vsvrisk.exceptions.DisclosureError: table has a person-level column 'person_id': ...
    """
    names = [id_columns] if isinstance(id_columns, str) else list(id_columns)
    present = [name for name in names
               if name in table.columns or name in [n for n in table.index.names if n]]
    if present:
        raise DisclosureError(
            f"table has a person-level column '{present[0]}': only aggregates may leave the "
            f"library; aggregate per region first (or drop the column if it is not needed)")
    if max_rows is not None and len(table) > max_rows:
        raise DisclosureError(
            f"table has {len(table)} rows, more than the {max_rows} an aggregate of this kind "
            f"can have: it looks person-level; aggregate it first")
