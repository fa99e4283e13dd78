"""Drift between cohorts: has the scored cohort moved away from the one the model learnt from?

Two checks, both cheap enough to run on every ``train`` and ``allocate``:

- the **population stability index** (PSI) of every characteristic between the training and
  the scored cohort, ``sum((a - e) * ln(a / e))`` over bins, where ``e`` and ``a`` are the shares
  of the two cohorts in each bin. Numeric columns are cut at the deciles of the training cohort;
  categorical columns (and numeric ones with no more distinct values than bins) use their
  levels; a missing value is a bin of its own. The usual reading: below 0.1 stable, 0.1-0.2 a
  shift worth knowing, above 0.2 a shift that calls for a look (flagged);
- the change in **calibration-in-the-large** (the intercept of a logistic recalibration with
  the log-odds as offset; 0 is perfect, above 0 the predictions are too low) between the two
  cohorts, nationally and per sector, when both cohorts have outcomes. A change of 0.1 in the
  log-odds is about 10% more or fewer early school leavers than predicted: enough to move money
  (DESIGN section 7), hence the default threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsvrisk.evaluate import calibration_intercept
from vsvrisk.exceptions import ConfigError, SchemaError

__all__ = ["DRIFT_COLUMNS", "population_stability_index", "calibration_change", "drift_report", "drift_warnings"]

#: The characteristics compared by default (the person-year table's, plus ``age``).
DRIFT_COLUMNS = (
    "age", "sector", "vo_type", "mbo_level", "mbo_pathway", "mbo_field", "gender", "delay_years", "psychosocial",
    "crime_suspect", "problem_debts", "benefits_household", "parent_crime_suspect", "parent_mental_health",
    "wealth_percentile", "parents", "mother_education", "urbanisation", "region_code",
)
PSI_THRESHOLD = 0.2
CALIBRATION_THRESHOLD = 0.1
# An empty bin would make ln(a / e) infinite; the usual remedy is a small floor on the shares.
_FLOOR = 1e-4


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _bin_shares(expected: pd.Series, actual: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray, str]:
    # Everything from the counts of each distinct value (one hashing pass over each cohort): a
    # cohort has millions of rows but a characteristic few values (a percentile 101, an age a
    # dozen), so the quantiles, the bins and the labels are worked out once per value.
    e_counts, a_counts = _value_counts(expected), _value_counts(actual)
    if _is_numeric(expected) and _is_numeric(actual) and e_counts.index.notna().sum() > bins:
        e_values, a_values = (counts.index.to_numpy(dtype=float, na_value=np.nan) for counts in (e_counts, a_counts))
        known = ~np.isnan(e_values)
        order = np.argsort(e_values[known])
        edges = np.unique(_quantiles(e_values[known][order], e_counts.to_numpy()[known][order],
                                     np.linspace(0, 1, bins + 1)[1:-1]))
        size = len(edges) + 2

        def shares(values: np.ndarray, counts: pd.Series, total: int) -> np.ndarray:
            codes = np.where(np.isnan(values), len(edges) + 1, np.searchsorted(edges, values, side="right"))
            # Whole counts summed in float64: exact, so the shares are those of counting rows.
            return np.bincount(codes, weights=counts.to_numpy(dtype=float), minlength=size) / total

        return shares(e_values, e_counts, len(expected)), shares(a_values, a_counts, len(actual)), "numeric"

    def by_label(counted: pd.Series) -> pd.Series:
        labels = ["missing" if pd.isna(level) else str(level) for level in counted.index]
        return pd.Series(counted.to_numpy(), index=labels).groupby(level=0).sum()

    e_counts, a_counts = by_label(e_counts), by_label(a_counts)
    levels = sorted(set(e_counts.index) | set(a_counts.index))
    return (e_counts.reindex(levels, fill_value=0).to_numpy() / len(expected),
            a_counts.reindex(levels, fill_value=0).to_numpy() / len(actual), "categorical")


def _quantiles(values: np.ndarray, counts: np.ndarray, quantiles: np.ndarray) -> list[float]:
    """``np.quantile`` (linear) of ``values`` each repeated ``counts`` times, bit for bit, without
    the rows: each quantile from its two neighbouring order statistics.

    ``values`` sorted and distinct, ``quantiles`` in [0, 1). numpy's linear quantile of n sorted
    numbers at q interpolates between the numbers at positions floor(h) and floor(h) + 1, h =
    (n - 1) q, with weight h - floor(h); ``np.quantile`` of those two numbers at that weight does
    the same arithmetic, so the result is the one of the rows (a test compares them). Sorting
    the million rows of a cohort cost more than the rest of the drift report.

    Examples
    --------
    >>> rows = np.array([1.0, 1.0, 2.0, 5.0, 5.0, 5.0, 9.0])
    >>> q = np.array([0.1, 0.25, 0.5, 0.9])
    >>> _quantiles(np.array([1.0, 2.0, 5.0, 9.0]), np.array([2, 1, 3, 1]), q) == np.quantile(rows, q).tolist()
    True
    """
    ends = np.cumsum(counts)  # the rows up to and including each value
    positions = (int(ends[-1]) - 1) * quantiles
    below = np.floor(positions)
    at = np.searchsorted(ends, below, side="right")
    above = np.searchsorted(ends, below + 1, side="right").clip(max=len(values) - 1)
    return [float(np.quantile(np.array([values[i], values[j]]), weight))
            for i, j, weight in zip(at, above, positions - below)]


def _value_counts(values: pd.Series) -> pd.Series:
    """Rows per distinct value (missing included), values that occur only."""
    counted = values.value_counts(dropna=False, sort=False)
    return counted[counted > 0]


def population_stability_index(expected, actual, bins: int = 10) -> float:
    """Population stability index of one characteristic between two cohorts.

    Parameters
    ----------
    expected : array-like
        The values in the reference (training) cohort; its quantiles cut numeric values.
    actual : array-like
        The values in the cohort compared with it (the scored cohort).
    bins : int, default=10
        Quantile bins of ``expected`` for numeric values (fewer when quantiles coincide).

    Returns
    -------
    float
        ``sum((a - e) * ln(a / e))`` over the bins (shares floored at 1e-4); 0 for identical
        distributions.

    Examples
    --------
    >>> population_stability_index(["a", "b"] * 50, ["a", "b"] * 50)
    0.0
    >>> round(population_stability_index(["a"] * 50 + ["b"] * 50, ["a"] * 90 + ["b"] * 10), 4)
    0.8789
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ConfigError(f"population stability index: bins must be a whole number of at least 2, got {bins!r}")
    expected, actual = pd.Series(expected).reset_index(drop=True), pd.Series(actual).reset_index(drop=True)
    if expected.empty or actual.empty:
        raise SchemaError("population stability index: both cohorts need at least one value")
    e, a, _ = _bin_shares(expected, actual, bins)
    return _psi(e, a)


def _psi(e: np.ndarray, a: np.ndarray) -> float:
    e, a = np.maximum(e, _FLOOR), np.maximum(a, _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def calibration_change(y_train, p_train, y_scored, p_scored) -> dict[str, float]:
    """Calibration-in-the-large in two cohorts and its change (scored minus training).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.01, 0.3, 20_000)
    >>> change = calibration_change(rng.random(20_000) < p, p, rng.random(20_000) < 1.5 * p, p)
    >>> change["change"] > 0.3  # 50% more leavers than predicted: predictions too low
    True
    """
    train, scored = calibration_intercept(y_train, p_train), calibration_intercept(y_scored, p_scored)
    return {"train": train, "scored": scored, "change": scored - train}


def _with_age(frame: pd.DataFrame) -> pd.DataFrame:
    if "age" in frame or not {"birth_date", "school_year"} <= set(frame.columns):
        return frame
    from vsvrisk.data import age_at_reference_date

    return frame.assign(age=age_at_reference_date(frame["birth_date"], frame["school_year"]).to_numpy())


def drift_report(train_frame: pd.DataFrame, scored_frame: pd.DataFrame, features=None, *, bins: int = 10,
                 threshold: float = PSI_THRESHOLD, p_train=None, p_scored=None,
                 calibration_threshold: float = CALIBRATION_THRESHOLD) -> pd.DataFrame:
    """Drift of every characteristic, and of calibration, from the training to the scored cohort.

    Parameters
    ----------
    train_frame, scored_frame : DataFrame
        The cohort the model was fitted on and the cohort it scores.
    features : list of str, optional
        Columns to compare; by default those of :data:`DRIFT_COLUMNS` present in both (``age``
        is derived from ``birth_date`` and ``school_year``).
    bins : int, default=10
    threshold : float, default=0.2
        A PSI above this is flagged.
    p_train, p_scored : array-like, optional
        Predicted risks of the two cohorts. With both, and ``vsv`` complete in both, the change
        in calibration-in-the-large is added (nationally and per sector).
    calibration_threshold : float, default=0.1
        A change in calibration-in-the-large larger than this (log-odds, either way) is flagged.

    Returns
    -------
    DataFrame
        One row per check: ``check`` (``psi`` or ``calibration_in_the_large``), ``feature``
        (a column, or ``all``/a sector for calibration), ``kind``, ``value`` (the PSI, or the
        change), ``train_value`` and ``scored_value`` (calibration only), ``threshold``,
        ``flagged``.

    Examples
    --------
    >>> train = pd.DataFrame({"gender": ["m", "v"] * 50, "delay_years": [0, 1, 2, 3] * 25})
    >>> scored = pd.DataFrame({"gender": ["m"] * 90 + ["v"] * 10, "delay_years": [0, 1, 2, 3] * 25})
    >>> drift_report(train, scored)[["feature", "value", "flagged"]].round(3).to_numpy().tolist()
    [['gender', 0.879, True], ['delay_years', 0.0, False]]
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ConfigError(f"drift: bins must be a whole number of at least 2, got {bins!r}")
    train_frame, scored_frame = _with_age(train_frame), _with_age(scored_frame)
    if features is None:
        features = [c for c in DRIFT_COLUMNS if c in train_frame and c in scored_frame]
    for name, frame in (("training", train_frame), ("scored", scored_frame)):
        missing = [c for c in features if c not in frame]
        if missing:
            raise SchemaError(f"drift: column '{missing[0]}' not found in the {name} cohort: drop it from the features")
    rows = []
    for feature in features:
        e, a, kind = _bin_shares(train_frame[feature].reset_index(drop=True),
                                 scored_frame[feature].reset_index(drop=True), bins)
        psi = _psi(e, a)
        rows.append({"check": "psi", "feature": feature, "kind": kind, "value": psi,
                     "train_value": np.nan, "scored_value": np.nan, "threshold": threshold, "flagged": psi > threshold})
    if p_train is not None and p_scored is not None:
        rows += _calibration_rows(train_frame, scored_frame, np.asarray(p_train, float), np.asarray(p_scored, float),
                                  calibration_threshold)
    columns = ["check", "feature", "kind", "value", "train_value", "scored_value", "threshold", "flagged"]
    return pd.DataFrame(rows, columns=columns)


def _calibration_rows(train: pd.DataFrame, scored: pd.DataFrame, p_train, p_scored, threshold) -> list[dict]:
    if any("vsv" not in f or f["vsv"].isna().any() for f in (train, scored)):
        return []  # a cohort being scored has no outcomes yet: nothing to compare
    if len(p_train) != len(train) or len(p_scored) != len(scored):
        raise SchemaError("drift: p_train and p_scored must hold one predicted risk per row of their cohort")
    y_train, y_scored = train["vsv"].to_numpy(float), scored["vsv"].to_numpy(float)
    parts = [("all", np.ones(len(train), bool), np.ones(len(scored), bool))]
    if "sector" in train and "sector" in scored:
        train_sector, scored_sector = _sector_masks(train["sector"]), _sector_masks(scored["sector"])
        for sector in sorted(set(train_sector) & set(scored_sector)):
            parts.append((sector, train_sector[sector], scored_sector[sector]))
    rows = []
    for name, in_train, in_scored in parts:
        if not (0 < y_train[in_train].sum() < in_train.sum() and 0 < y_scored[in_scored].sum() < in_scored.sum()):
            continue  # one outcome only: no intercept to estimate
        change = calibration_change(y_train[in_train], p_train[in_train], y_scored[in_scored], p_scored[in_scored])
        rows.append({"check": "calibration_in_the_large", "feature": name, "kind": "log-odds", "value": change["change"],
                     "train_value": change["train"], "scored_value": change["scored"], "threshold": threshold,
                     "flagged": abs(change["change"]) > threshold})
    return rows


def _sector_masks(sector: pd.Series) -> dict[str, np.ndarray]:
    """A mask of the rows of each sector (by its name as text), from integer codes: comparing a
    million strings once per sector cost more than the calibration fits."""
    codes, uniques = pd.factorize(sector)
    masks: dict[str, np.ndarray] = {}
    for code, name in enumerate(str(value) for value in uniques):
        masks[name] = masks[name] | (codes == code) if name in masks else codes == code
    return masks


def drift_warnings(table: pd.DataFrame) -> list[str]:
    """One line per flagged row of a :func:`drift_report`, for the CLI and the reports.

    Examples
    --------
    >>> table = pd.DataFrame([{"check": "psi", "feature": "age", "value": 0.31, "threshold": 0.2,
    ...                        "flagged": True}])
    >>> print(drift_warnings(table)[0])  # doctest: +ELLIPSIS
    drift: feature 'age' has a population stability index of 0.31 between the training and ...
    """
    lines = []
    for row in table[table["flagged"].astype(bool)].itertuples(index=False):
        if row.check == "psi":
            lines.append(f"drift: feature '{row.feature}' has a population stability index of {row.value:.2f} between "
                         f"the training and the scored cohort (above {row.threshold:g}): its distribution has shifted; "
                         "check the data, or retrain the model on a recent cohort")
        else:
            where = "nationally" if row.feature == "all" else f"in {row.feature}"
            lines.append(f"drift: calibration-in-the-large {where} moved by {row.value:+.2f} log-odds between the "
                         f"training and the scored cohort (more than {row.threshold:g}): predicted risks are on average "
                         f"too {'low' if row.value > 0 else 'high'}; recalibrate or retrain the model")
    return lines
