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
:func:`aggregate_shap` keeps sums per region only (and a sample of rows for the plots).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from vsvrisk.exceptions import ConfigError, SchemaError

__all__ = ["CHUNK_SIZE", "variables_of_columns", "shap_values", "aggregate_shap", "ShapAggregates"]

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
        if self.is_logistic:
            return self.learner.decision_function(matrix)
        return self.learner.booster_.predict(matrix, raw_score=True)

    def contributions(self, matrix: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-variable contributions (n, n_union_variables) and the base value (n,)."""
        if self.is_logistic:
            coef = self.learner.coef_[0]
            values = matrix.to_numpy(dtype=float)
            columns = (values - self.means) * coef
            base = np.full(len(values), float(self.learner.intercept_[0] + coef @ self.means))
        else:
            if self.tree_shap is None:
                from vsvrisk.explain.fast_treeshap import FastTreeShap

                self.tree_shap = FastTreeShap(self.learner.booster_)
            raw = self.tree_shap.pred_contrib(matrix)
            columns, base = raw[:, :-1], raw[:, -1]
        return columns @ self.indicator, base


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


def _explained_chunks(explainers, X, groups, chunk_size):
    """Yield (chunk slice, group, row mask in chunk, prepared values, contributions, base)."""
    for rows in _chunks(len(X), chunk_size):
        chunk, chunk_groups = X.iloc[rows], groups[rows]
        for group, explainer in explainers.items():
            mask = chunk_groups == group
            if mask.any():
                prepared, matrix = explainer.transform(chunk.loc[mask])
                contributions, base = explainer.contributions(matrix)
                yield rows, group, mask, prepared, contributions, base


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


@dataclass
class ShapAggregates:
    """Sums of SHAP values over a frame, per region and per model group (no person rows).

    ``sums`` (index: region) holds, per region, the sums of each variable's contribution and
    of ``base``, ``margin``, ``probability`` (the model's probability, calibrated if the model
    is) and ``link_at_mean`` (each person's probability at the national mean margin).
    ``secant_sums`` holds the same contributions and ``base`` weighted by each person's secant
    slope, and ``secant`` (the sum of the slopes): what the need-share split needs
    (:func:`vsvrisk.explain.regional_decomposition`). ``abs_sums`` (index: model group) holds the
    sums of |contribution| per variable, ``group_sizes`` the rows per group. ``levels`` holds
    per model group, variable and level the number of persons and the sum of contributions.
    ``sample`` holds the per-row values (as :func:`shap_values`) of a random sample of rows and
    ``sample_values`` the variables' values of those rows per group: person-level, for the
    plots, never written as a table.
    """

    by: str
    variables: list
    groups: tuple
    model_variables: dict
    n_persons: pd.Series
    sums: pd.DataFrame
    secant_sums: pd.DataFrame
    abs_sums: pd.DataFrame
    group_sizes: pd.Series
    levels: pd.DataFrame
    national_mean_margin: float
    sample: pd.DataFrame
    sample_values: dict = field(default_factory=dict)


def _level_label(value, missing: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _level_sums(values: pd.Series, contributions: np.ndarray, missing: str) -> pd.DataFrame:
    """Persons and summed contribution per level of one variable (grouped on the raw values)."""
    summed = pd.Series(contributions, index=values.index).groupby(
        values, dropna=False, observed=True, sort=True).agg(["size", "sum"])
    summed.index = [_level_label(v, missing) for v in summed.index]
    return summed.rename_axis("level").reset_index()


def _summed(parts: list, columns: list, index: pd.Index) -> pd.DataFrame:
    total = pd.concat(parts).groupby(level=0).sum() if parts else pd.DataFrame(columns=range(len(columns)))
    return total.set_axis(columns, axis=1).reindex(index, fill_value=0.0)


def aggregate_shap(model, X: pd.DataFrame, *, by: str = "region_code", chunk_size: int = CHUNK_SIZE,
                   sample_size: int = 20_000, random_state: int = 0) -> ShapAggregates:
    """Sum SHAP values per region and per model group, chunk by chunk.

    Two passes over ``X``: a cheap one for the national mean margin (and, for a logistic
    model, the column means that centre its contributions), then the SHAP pass. Only sums
    are kept, plus ``sample_size`` random rows for the plots, so memory does not grow with
    the number of rows beyond ``X`` itself.

    Parameters
    ----------
    model : RiskModel
    X : DataFrame
        Person-year rows (usually one cohort, the whole nation).
    by : str, default="region_code"
        The column the sums are taken per.
    chunk_size : int, default=500_000
    sample_size : int, default=20_000
        Rows whose per-row values are kept for the beeswarm and dependence plots (0: none).
    random_state : int, default=0
        Seed of that sample.

    Returns
    -------
    ShapAggregates

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> frame = generate(5_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"],
    ...                                "mbo": ["age_group", "mbo_level"]}).fit(frame)
    >>> aggregates = aggregate_shap(model, frame, sample_size=100)
    >>> int(aggregates.n_persons.sum()), len(aggregates.sample)
    (5000, 100)
    """
    if by not in X:
        raise SchemaError(f"column '{by}' not found in X: it is what the sums are taken per")
    if X[by].isna().any():
        raise SchemaError(f"column '{by}' is missing for {int(X[by].isna().sum())} rows: every row needs a {by}")
    explainers, union, groups = _explainers(model, X)
    mean_margin = _fit_means(explainers, X, groups, chunk_size)
    n_union = len(union)
    keys = X[by].to_numpy()
    chosen = np.zeros(len(X), dtype=bool)
    if sample_size > 0:
        rng = np.random.default_rng(random_state)
        chosen[rng.choice(len(X), size=min(sample_size, len(X)), replace=False)] = True
    sums, secant_sums, abs_sums = [], [], {g: np.zeros(n_union) for g in explainers}
    levels, sample_rows, sample_values = [], [], {g: [] for g in explainers}
    for rows, group, mask, prepared, contributions, base in _explained_chunks(explainers, X, groups, chunk_size):
        explainer = explainers[group]
        margin = base + contributions.sum(axis=1)
        probability = explainer.link(margin)
        at_mean = float(explainer.link(np.array([mean_margin]))[0])
        gap = margin - mean_margin
        # The secant of the link between the national mean margin and this person's margin:
        # p - link(mean) = slope * (margin - mean) exactly, which is what lets the need share
        # be split over the same terms as the log-odds (see drivers.regional_decomposition).
        # A person at the mean margin has p = link(mean): slope 0 loses nothing.
        slope = np.divide(probability - at_mean, gap, out=np.zeros_like(gap), where=np.abs(gap) > 1e-12)
        region = keys[rows][mask]
        plain = np.column_stack([contributions, base, margin, probability, np.full(len(base), at_mean)])
        weighted = np.column_stack([contributions * slope[:, None], base * slope, slope])
        sums.append(pd.DataFrame(plain).groupby(region).sum())
        secant_sums.append(pd.DataFrame(weighted).groupby(region).sum())
        abs_sums[group] += np.abs(contributions).sum(axis=0)
        for variable in explainer.variables:
            summed = _level_sums(prepared[variable], contributions[:, union.index(variable)],
                                 explainer.missing_label(variable))
            summed.insert(0, "variable", variable)
            summed.insert(0, "model_group", group)
            levels.append(summed)
        picked = chosen[rows][mask]
        if picked.any():
            values = prepared.iloc[np.flatnonzero(picked)]
            part = pd.DataFrame(np.column_stack([contributions[picked], base[picked], margin[picked]]),
                                index=values.index, columns=[*union, "base", "margin"])
            part.insert(0, "model_group", group)
            sample_rows.append(part)
            sample_values[group].append(explainer.as_levels(values))
    # Everything was summed chunk by chunk into small tables: regions x terms, never rows.
    regions = pd.Index(sorted(pd.unique(keys)), name=by)
    level_columns = ["model_group", "variable", "level", "size", "sum"]
    level_table = (pd.concat(levels) if levels else pd.DataFrame(columns=level_columns)).groupby(
        level_columns[:3], sort=False, as_index=False)[["size", "sum"]].sum()
    sample = pd.concat(sample_rows) if sample_rows else pd.DataFrame(columns=["model_group", *union, "base", "margin"])
    return ShapAggregates(
        by=by, variables=union, groups=tuple(explainers),
        model_variables={g: list(e.variables) for g, e in explainers.items()},
        n_persons=pd.Series(keys).value_counts().reindex(regions, fill_value=0).rename("n_persons"),
        sums=_summed(sums, [*union, "base", "margin", "probability", "link_at_mean"], regions),
        secant_sums=_summed(secant_sums, [*union, "base", "secant"], regions),
        abs_sums=pd.DataFrame(abs_sums, index=union).T,
        group_sizes=pd.Series({g: int((groups == g).sum()) for g in explainers}, name="n_persons"),
        levels=level_table.rename(columns={"size": "n_persons", "sum": "sum_contribution"}),
        national_mean_margin=mean_margin, sample=sample,
        sample_values={g: pd.concat(parts) for g, parts in sample_values.items() if parts},
    )
