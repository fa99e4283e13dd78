"""SHAP values per person in log-odds, grouped back to the variables a person names, in chunks.

What is explained is the model's **raw margin** (log-odds) of each model group's learner:

- LightGBM: exact TreeSHAP on the learner's input matrix, through
  :class:`~vsvrisk.explain.fast_treeshap.FastTreeShap` (equal to LightGBM's own
  ``booster_.predict(X, pred_contrib=True)``, tens of times faster on a cohort); the last
  column is the base value (the trees' expected value over the training data).
- Logistic: exact, ``coef * (x - mean(x))`` per column, base ``intercept + coef . mean(x)``.
  The means are taken per model group over the rows being explained (or over ``background``),
  so the contributions of a variable average to zero over those rows.

A calibrated model is explained on the margin of the learner inside it, before calibration
(the calibration map is monotone and has no variables of its own); its probabilities, which
the need share uses, are that map applied to the margin.

**Grouping.** A learner column belongs to the selected variable (``selected_features_``) whose
name it equals, or else to the longest variable name that it starts with followed by ``_``:
one-hot columns are ``<variable>_<level>`` (``age_group_15``, ``mbo_level_none``), so a
variable's contribution is the sum over its levels' columns; ``age_group_15`` goes to
``age_group`` even when ``age`` is selected too. Derived variables (``age`` and ``age_group``
from the birth date, ``multiproblematiek`` from the problem flags, ``wealth_group``) are
explained as themselves, not as the raw columns they were made from.

**Model groups.** vo and mbo have separate models with different base values. In a frame of
both, ``base`` differs by row; a variable that a group's model does not use contributes 0 to
that group's rows. :mod:`vsvrisk.explain.drivers` turns the base difference between a region
and the nation into the explicit ``model_group_mix`` term.

Memory stays bounded: rows go through the features and the learner ``chunk_size`` at a time;
:func:`~vsvrisk.explain.aggregate_shap` (:mod:`vsvrisk.explain.aggregates`) keeps sums per region only
(and a sample of rows for the plots).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from vsvrisk.exceptions import ConfigError, SchemaError

__all__ = ["CHUNK_SIZE", "variables_of_columns", "shap_values"]

#: Rows per chunk: 500,000 rows of contributions are some 80 MB. Fast TreeSHAP shares work
#: between the rows of a chunk, so larger chunks are faster (a national cohort is 1.5 M).
CHUNK_SIZE = 500_000


def variables_of_columns(columns, variables) -> dict[str, str]:
    """Map each learner input column to the variable a person would name.

    A column belongs to the variable of the same name, or else to the longest variable name
    it starts with followed by ``_`` (one-hot columns are ``<variable>_<level>``).

    Parameters
    ----------
    columns : sequence of str
        The learner's input columns.
    variables : sequence of str
        The selected variables (``RiskModel.selected_features_[group]``).

    Returns
    -------
    dict of str to str

    Raises
    ------
    SchemaError
        If a column matches no variable.

    Examples
    --------
    >>> variables_of_columns(["age", "age_group_15", "mbo_level_none"], ["age", "age_group", "mbo_level"])
    {'age': 'age', 'age_group_15': 'age_group', 'mbo_level_none': 'mbo_level'}
    """
    by_length = sorted(variables, key=len, reverse=True)
    mapping = {}
    for column in columns:
        owner = column if column in variables else next(
            (name for name in by_length if column.startswith(f"{name}_")), None)
        if owner is None:
            raise SchemaError(f"learner column '{column}' belongs to none of the variables "
                              f"{list(variables)}: the feature names do not follow <variable>_<level>")
        mapping[column] = owner
    return mapping


def _link(model):
    """Margin -> probability of one model group: the sigmoid, or the calibration map on it."""
    if not isinstance(model, CalibratedClassifierCV):
        return expit  # LogisticRegression and LightGBM's binary objective
    calibrated = model.calibrated_classifiers_
    # scikit-learn's own predict_proba for a binary sigmoid/isotonic calibration: the mean of
    # each calibrator applied to the decision function, nudged back to 1 just above it. The
    # test against predict_proba catches it if scikit-learn changes this.
    if not all(c.method in ("sigmoid", "isotonic") and len(c.calibrators) == 1 for c in calibrated):
        raise ConfigError(f"calibration '{calibrated[0].method}' cannot be explained: use sigmoid or isotonic")

    def apply(margin):
        p = np.mean([c.calibrators[0].predict(margin) for c in calibrated], axis=0)
        return np.where((p > 1.0) & (p <= 1.0 + 1e-5), 1.0, p)

    return apply


@dataclass
class _GroupExplainer:
    """The fitted pieces of one model group, split where the variables are still whole."""

    group: str
    prepare: object  # derive + select: one column per variable, as a person names it
    encode: list  # encode (+ the logistic model's collinear step): the learner's input
    learner: object
    variables: list
    indicator: np.ndarray  # (n_columns, n_union_variables) 0/1: which variable a column is
    link: object
    means: np.ndarray | None = None  # logistic only: the centre of the contributions
    tree_shap: object = None  # LightGBM only: the FastTreeShap of the booster, made once

    def missing_label(self, variable: str) -> str:
        """What a missing value is called: the encoder's level for it ("none": not in mbo)."""
        encoder = self.encode[0]
        if variable in getattr(encoder, "categories_", {}) and encoder.missing_level is not None:
            return encoder.missing_level
        return "missing"

    def as_levels(self, prepared: pd.DataFrame) -> pd.DataFrame:
        """The encoder's categorical variables as categories in its level order (for plots)."""
        out = prepared.copy()
        for variable, levels in getattr(self.encode[0], "categories_", {}).items():
            if variable in out:
                missing = self.missing_label(variable)
                labels = [_level_label(value, missing) for value in out[variable].astype(object)]
                out[variable] = pd.Categorical(labels, categories=list(levels))
        return out

    @property
    def is_logistic(self) -> bool:
        return isinstance(self.learner, LogisticRegression)

    def transform(self, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        prepared = self.prepare.transform(rows)
        matrix = prepared
        for step in self.encode:
            matrix = step.transform(matrix)
        return prepared, matrix

    def margin(self, matrix: pd.DataFrame) -> np.ndarray:
        # LightGBM's margin through the learner, not its booster: LGBMRiskClassifier predicts
        # each distinct row once (the same numbers as booster_.predict(raw_score=True)).
        return self.learner.decision_function(matrix)

    def contributions(self, matrix: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-variable contributions (n, n_union_variables) and the base value (n,)."""
        contributions, base, inverse = self.distinct_contributions(matrix)
        return contributions[inverse], base[inverse]

    def distinct_contributions(self, matrix: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(contributions, base, inverse)``: row *i* of ``matrix`` has ``contributions[inverse[i]]``
        and ``base[inverse[i]]``. The trees explain each distinct row of their classes once (a
        national cohort: a third to a half of its rows); a logistic model explains every row."""
        if self.is_logistic:
            coef = self.learner.coef_[0]
            values = matrix.to_numpy(dtype=float)
            base = np.full(len(values), float(self.learner.intercept_[0] + coef @ self.means))
            return ((values - self.means) * coef) @ self.indicator, base, np.arange(len(values))
        if self.tree_shap is None:
            from vsvrisk.explain.fast_treeshap import FastTreeShap

            self.tree_shap = FastTreeShap(self.learner.booster_)
        # Grouped into variables per distinct row: no (rows x learner columns) table in between.
        distinct, inverse, columns = self.tree_shap._distinct_contrib(matrix)
        return distinct[:, :-1] @ self.indicator[columns[:-1]], np.ascontiguousarray(distinct[:, -1]), inverse


def _model_groups(model, X: pd.DataFrame, what: str = "X") -> np.ndarray:
    if not isinstance(X, pd.DataFrame):
        raise SchemaError(f"{what} must be a person-year DataFrame, got {type(X).__name__}")
    if "sector" not in X and model.sectors != "pooled":
        raise SchemaError(f"column 'sector' not found in {what}: it routes each row to its model")
    groups = model.model_groups(X)
    unknown = ~np.isin(groups, list(model.models_))
    if unknown.any():
        raise SchemaError(f"{int(unknown.sum())} rows of {what} belong to no fitted model group "
                          f"({', '.join(model.models_)}): check the column 'sector'")
    return groups


def _required_columns(features) -> list[str]:
    """The columns of the person-year table that the derive step reads (not all it was fit on)."""
    derive = features.named_steps["derive"]
    return list(dict.fromkeys(c for name, _, columns in derive.transformers_ if name != "remainder"
                              and isinstance(columns, list) for c in columns))


def _explainers(model, X: pd.DataFrame) -> tuple[dict, list, np.ndarray]:
    """One explainer per fitted model group, the union of variables, and each row's group."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "models_")
    groups = _model_groups(model, X)
    union = list(dict.fromkeys(v for g in model.models_ for v in model.selected_features_[g]))
    explainers = {}
    for group, fitted in model.models_.items():
        pipeline = model.feature_pipeline(group)
        absent = [c for c in _required_columns(pipeline[0]) if c not in X.columns]
        if absent:
            raise SchemaError(f"column '{absent[0]}' not found in X: the {group} model was fitted with it; "
                              "explain data with the columns the model was trained on")
        features = pipeline[0]  # Pipeline derive/select/encode; a logistic model adds collinear
        columns = list(pipeline.get_feature_names_out())
        owner = variables_of_columns(columns, model.selected_features_[group])
        indicator = np.zeros((len(columns), len(union)))
        indicator[np.arange(len(columns)), [union.index(owner[c]) for c in columns]] = 1.0
        explainers[group] = _GroupExplainer(
            group, features[:-1], [features[-1], *pipeline[1:]], model.learner_of(group),
            list(model.selected_features_[group]), indicator, _link(fitted))
    return explainers, union, groups


def _chunks(n_rows: int, chunk_size: int) -> Iterator[slice]:
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive number of rows, got {chunk_size!r}")
    for start in range(0, n_rows, chunk_size):
        yield slice(start, min(start + chunk_size, n_rows))


def _fit_means(explainers: dict, X: pd.DataFrame, groups: np.ndarray, chunk_size: int) -> float:
    """Centre the logistic contributions on X's column means; return X's mean margin."""
    sums = {g: 0.0 for g in explainers}
    counts = dict.fromkeys(explainers, 0)
    margin_sum = 0.0
    for rows in _chunks(len(X), chunk_size):
        chunk, chunk_groups = X.iloc[rows], groups[rows]
        for group, explainer in explainers.items():
            mask = chunk_groups == group
            if not mask.any():
                continue
            _, matrix = explainer.transform(chunk.loc[mask])
            margin_sum += float(explainer.margin(matrix).sum())
            if explainer.is_logistic:
                sums[group] = sums[group] + matrix.to_numpy(dtype=float).sum(axis=0)
            counts[group] += int(mask.sum())
    for group, explainer in explainers.items():
        if explainer.is_logistic and explainer.means is None:
            width = explainer.indicator.shape[0]
            explainer.means = sums[group] / counts[group] if counts[group] else np.zeros(width)
    return margin_sum / max(len(X), 1)


def _explained_chunks(explainers, X, groups, chunk_size, distinct: bool = False):
    """Yield (chunk slice, group, row mask in chunk, prepared values, contributions, base), or
    with ``distinct`` (..., contributions, base, inverse) of the chunk's distinct rows
    (:meth:`_GroupExplainer.distinct_contributions`)."""
    for rows in _chunks(len(X), chunk_size):
        chunk, chunk_groups = X.iloc[rows], groups[rows]
        for group, explainer in explainers.items():
            mask = chunk_groups == group
            if mask.any():
                prepared, matrix = explainer.transform(chunk.loc[mask])
                explained = explainer.distinct_contributions(matrix) if distinct else explainer.contributions(matrix)
                yield rows, group, mask, prepared, *explained


def shap_values(model, X: pd.DataFrame, *, background: pd.DataFrame | None = None,
                chunk_size: int = CHUNK_SIZE) -> pd.DataFrame:
    """SHAP values of every row of ``X``, per variable, in log-odds.

    Parameters
    ----------
    model : RiskModel
        A fitted model (LightGBM or logistic; calibrated or not).
    X : DataFrame
        Person-year rows to explain.
    background : DataFrame, default=None
        Logistic models only: the rows whose column means centre the contributions (per model
        group). ``None`` centres on ``X`` itself. LightGBM's centre is fixed by its trees.
    chunk_size : int, default=500_000
        Rows per pass through the features and the learner.

    Returns
    -------
    DataFrame
        Indexed like ``X``: ``model_group``, one column per variable (the union over the
        model groups; 0 where a group's model does not use it), ``base`` and ``margin``
        (``base`` plus the contributions: the learner's raw log-odds, before calibration).

    See Also
    --------
    aggregate_shap : the same, summed per region without holding every row.

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> frame = generate(5_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"],
    ...                                "mbo": ["age_group", "mbo_level"]}).fit(frame)
    >>> values = shap_values(model, frame)
    >>> list(values.columns)
    ['model_group', 'age_group', 'vo_type', 'mbo_level', 'base', 'margin']
    >>> margin = np.log(model.predict_risk(frame) / (1 - model.predict_risk(frame)))
    >>> bool(np.allclose(values["margin"], margin))
    True
    """
    explainers, union, groups = _explainers(model, X)
    if any(e.is_logistic for e in explainers.values()):
        centre = X if background is None else background
        _fit_means(explainers, centre, _model_groups(model, centre, "background"), chunk_size)
    out = np.zeros((len(X), len(union) + 2))
    for rows, _, mask, _, contributions, base in _explained_chunks(explainers, X, groups, chunk_size):
        positions = np.arange(rows.start, rows.stop)[mask]
        out[positions, :-2] = contributions
        out[positions, -2] = base
        out[positions, -1] = base + contributions.sum(axis=1)
    values = pd.DataFrame(out, index=X.index, columns=[*union, "base", "margin"])
    values.insert(0, "model_group", groups)
    return values


def _level_label(value, missing: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
