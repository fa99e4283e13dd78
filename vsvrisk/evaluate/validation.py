"""Out-of-time evaluation and grouped cross-validation of a risk model.

Validation is out of time (fit on cohort t, evaluate on another cohort, as CBS did), plus
grouped cross-validation within a cohort (folds by region, so a region's pupils are never on
both sides). No random row split between years.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from vsvrisk.data.codes import SECTORS
from vsvrisk.data.years import school_year_rows
from vsvrisk.evaluate.metrics import (
    _need_share_distance,
    _scores_of_cells,
    _truth_of_cells,
    observed_expected,
)
from vsvrisk.exceptions import SchemaError
from vsvrisk.features import WealthGroup

__all__ = ["Evaluation", "evaluate_predictions", "out_of_time", "grouped_cross_validation", "AUDIT_GROUPS"]

#: Person characteristics the metrics are also broken down by (DESIGN section 7).
AUDIT_GROUPS = ("gender", "urbanisation", "wealth_group", "migration_background")


@dataclass
class Evaluation:
    """Scores of one set of predictions on one cohort; every table is an aggregate.

    Attributes
    ----------
    metrics : dict
        Flat scores for tracking: ``<sector>_<metric>`` (``vo_roc_auc``, ``mbo_brier``, ...)
        for each sector and ``all``; with a synthetic truth also ``<sector>_truth_roc_auc``,
        ``<sector>_mean_abs_error`` and ``need_share_l1``.
    by_sector : DataFrame
        One row per sector (and ``all``), every metric as a column.
    by_region : DataFrame
        Observed/expected per region with its interval (``n_persons`` for disclosure control).
    by_group : DataFrame
        Metrics per sector and level of each audit characteristic.
    """

    metrics: dict = field(default_factory=dict)
    by_sector: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_region: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)


def _wealth_group(frame: pd.DataFrame) -> pd.Series:
    """The five wealth groups (and ``missing``) of the feature transformer, as text."""
    return WealthGroup().fit_transform(frame[["wealth_percentile"]])["wealth_group"].astype(str)


def _sector_masks(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    sector = frame["sector"].astype(object).to_numpy()
    masks = {name: sector == name for name in SECTORS}
    masks["all"] = np.ones(len(frame), dtype=bool)
    return {name: mask for name, mask in masks.items() if mask.any()}


def evaluate_predictions(frame: pd.DataFrame, p, *, by_group: bool = True) -> Evaluation:
    """Score predicted risks on a cohort with known outcomes.

    Parameters
    ----------
    frame : DataFrame
        The person-year table with ``vsv``; ``p_true`` and ``p_true_features`` (a synthetic
        population) add the distance to the truth.
    p : array-like
        Predicted risk of each row.
    by_group : bool, default=True
        Also score every level of each audit characteristic (``Evaluation.by_group``; the
        slowest part on a small cohort). A sweep that ranks models by one metric skips it.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> frame = generate(30_000, seed=2).frame
    >>> result = evaluate_predictions(frame, frame["p_true_features"])
    >>> round(result.metrics["need_share_l1"], 12)
    0.0
    """
    if "vsv" not in frame or frame["vsv"].isna().any():
        raise SchemaError("evaluate: column 'vsv' must be present and complete on the evaluation cohort")
    p = np.asarray(p, dtype=float)
    y = frame["vsv"].to_numpy(dtype=float)
    has_truth = "p_true" in frame and "p_true_features" in frame
    rows, metrics = [], {}
    sectors = _sector_masks(frame)
    # The 68 cells of a national cohort (sectors by groups) share one sort of the risks
    # (metrics._scores_of_cells): each is scored on its distinct (outcome, risk) pairs, serially.
    scores_of, groups = _scores_of_cells(y, p, sectors, _group_codes(frame) if by_group else {})
    if has_truth:
        truths = _truth_of_cells(y, p, frame["p_true"].to_numpy(), frame["p_true_features"].to_numpy(),
                                 list(sectors.values()))
        need = _need_share_distance(p, frame["p_true_features"].to_numpy(), frame["region_code"].to_numpy())
    for index, (sector, scores) in enumerate(zip(sectors, scores_of)):
        if has_truth:
            scores.update({**truths[index], **(need if sector == "all" else {})})
        rows.append({"sector": sector, **scores})
        metrics.update({f"{sector}_{name}": value for name, value in scores.items()})
    if has_truth:
        metrics["need_share_l1"] = metrics.pop("all_need_share_l1")
        metrics["need_share_max_error"] = metrics.pop("all_need_share_max_error")
    by_region = observed_expected(y, p, frame["region_code"].to_numpy())
    by_region.index.name = "region_code"
    return Evaluation(
        metrics=metrics,
        by_sector=pd.DataFrame(rows).set_index("sector"),
        by_region=by_region.reset_index(),
        by_group=_group_table(groups) if by_group else pd.DataFrame(),
    )


def _group_codes(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Each audit characteristic's level of every row as an integer (-1 missing), and the levels."""
    characteristics = {
        "gender": frame["gender"],
        "urbanisation": frame["urbanisation"],
        "wealth_group": WealthGroup().fit_transform(frame[["wealth_percentile"]])["wealth_group"],
    }
    if "migration_background" in frame and frame["migration_background"].notna().any():
        characteristics["migration_background"] = frame["migration_background"]
    return {name: _text_codes(values) for name, values in characteristics.items()}


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """What ``pd.factorize(values.astype(str))`` gives (codes, -1 where missing, and the texts),
    with each distinct value turned into text once rather than each of a million rows."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # its codes are there already
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values)
    text_codes, texts = pd.factorize(pd.Series([str(value) for value in uniques], dtype=object))
    # -1 (missing) picks the appended -1.
    return np.append(text_codes, -1)[codes], list(texts)


def _group_table(cells: list[tuple]) -> pd.DataFrame:
    rows = [{"sector": sector, "characteristic": name, "level": level, **score} for sector, name, level, score in cells]
    table = pd.DataFrame(rows).rename(columns={"n": "n_persons"})
    return table.sort_values(["sector", "characteristic", "level"], ignore_index=True)


@dataclass
class OutOfTimeResult:
    """A model fitted on one cohort and scored on another."""

    model: object
    evaluation: Evaluation
    train_year: int
    eval_year: int
    n_train: int
    n_eval: int
    #: The predicted risks of the evaluation cohort, in its row order (kept in memory for the
    #: caller's plots and checks; never tracked or written).
    p_eval: np.ndarray | None = None


def _cohort(frame: pd.DataFrame, year: int, what: str) -> pd.DataFrame:
    cohort = school_year_rows(frame, year)
    if cohort.empty:
        years = ", ".join(str(y) for y in sorted(frame["school_year"].unique()))
        raise SchemaError(f"the data have no rows for {what} school year {year}: it has {years}; change data.{what}_year")
    return cohort


def out_of_time(model, frame: pd.DataFrame, train_year: int, eval_year: int, *, by_group: bool = True) -> OutOfTimeResult:
    """Fit a clone of ``model`` on cohort ``train_year`` and evaluate it on ``eval_year``.

    ``by_group=False`` leaves out the metrics per group (see :func:`evaluate_predictions`).

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> frame = generate(20_000, school_years=[2018, 2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["vo_type"], "mbo": ["mbo_level"]})
    >>> result = out_of_time(model, frame, 2018, 2019)
    >>> 0.5 < result.evaluation.metrics["mbo_roc_auc"] < 1
    True
    """
    train = _cohort(frame, train_year, "train")
    evaluation_cohort = _cohort(frame, eval_year, "eval")
    fitted = clone(model).fit(train)
    p = fitted.predict_risk(evaluation_cohort)
    evaluation = evaluate_predictions(evaluation_cohort, p, by_group=by_group)
    return OutOfTimeResult(fitted, evaluation, train_year, eval_year, len(train), len(evaluation_cohort),
                           np.asarray(p))


def grouped_cross_validation(model, cohort: pd.DataFrame, *, n_splits: int = 5, groups: str = "region_code") -> pd.DataFrame:
    """Cross-validation within one cohort with folds by ``groups`` (regions by default).

    Returns
    -------
    DataFrame
        One row per fold and sector: the fold, the sector and every metric.
    """
    rows = []
    for fold, (train_idx, test_idx) in enumerate(GroupKFold(n_splits=n_splits).split(cohort, groups=cohort[groups])):
        test = cohort.iloc[test_idx]
        fitted = clone(model).fit(cohort.iloc[train_idx])
        result = evaluate_predictions(test, fitted.predict_risk(test))
        rows.append(result.by_sector.reset_index().assign(fold=fold))
    return pd.concat(rows, ignore_index=True)
