"""One line per problem in a person-year table: the column, the rule, example rows, the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd

_MAX_EXAMPLES = 3


def _message(column: str, rule: str, rows: np.ndarray, fix: str) -> str:
    return f"column '{column}': {rule} ({_rows(rows)}): {fix}"


def _rows(positions: np.ndarray) -> str:
    shown = ", ".join(str(position + 1) for position in positions[:_MAX_EXAMPLES])
    more = f" and {len(positions) - _MAX_EXAMPLES} more" if len(positions) > _MAX_EXAMPLES else ""
    return f"row{'s' if len(positions) > 1 else ''} {shown}{more}"


def _found(values: pd.Series, rows: np.ndarray) -> str:
    values = values.iloc[rows[: 10 * _MAX_EXAMPLES]].dropna()
    numbers = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        values = values.dt.strftime("%Y-%m-%d")
    examples = pd.unique(values.astype(str))[:_MAX_EXAMPLES]
    # Quote text, so that a stray space or an odd spelling shows; numbers read better bare.
    return f", found {', '.join(examples) if numbers else _quoted(examples)}" if len(examples) else ""


def _quoted(names) -> str:
    return ", ".join(f"'{name}'" for name in names)
