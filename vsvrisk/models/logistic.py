"""The logistic model's extras: forward stepwise selection and the odds-ratio table."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.feature_selection import SequentialFeatureSelector
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from vsvrisk.features import CategoryEncoder, build_feature_pipeline
from vsvrisk.models._distinct import distinct_design
from vsvrisk.models.collinear import DropDuplicateColumns

__all__ = ["forward_select", "odds_ratios"]


def _unpenalised() -> LogisticRegression:
    return LogisticRegression(C=np.inf, solver="newton-cholesky", max_iter=200)


def forward_select(X: pd.DataFrame, y: pd.Series, feature_spec, stepwise, seed: int) -> list[str]:
    """Forward stepwise selection of whole variables, as CBS did, with scikit-learn's selector.

    Candidates are the variables of ``feature_spec`` (a one-hot variable enters or leaves with
    all its levels): the selector sees the category-encoded matrix, and the estimator it
    scores one-hot encodes whatever variables it is given.

    Parameters
    ----------
    X, y : DataFrame, Series
        One model group's training rows and target.
    feature_spec : FeatureSpec
        The candidate variables and how they are built.
    stepwise : StepwiseSpec
        ``max_features`` (or ``tol`` on the score gain), ``scoring``, ``cv``, ``sample_size``.
    seed : int

    Returns
    -------
    list of str
        The selected variables, in the order of ``feature_spec.features``.
    """
    candidates = list(feature_spec.features)
    if stepwise.max_features is not None and stepwise.max_features >= len(candidates):
        return candidates
    if len(y) > stepwise.sample_size:
        X, _, y, _ = train_test_split(X, y, train_size=stepwise.sample_size, stratify=y, random_state=seed)
    variables = build_feature_pipeline(feature_spec.model_copy(update={"encoding": "category"})).fit_transform(X)
    estimator = Pipeline(
        [("encode", CategoryEncoder(encoding="onehot")), ("collinear", DropDuplicateColumns()), ("learner", _unpenalised())]
    )
    selector = SequentialFeatureSelector(
        estimator,
        n_features_to_select=stepwise.max_features or "auto",
        tol=None if stepwise.max_features else stepwise.tol,
        direction="forward",
        scoring=stepwise.scoring,
        cv=StratifiedKFold(stepwise.cv, shuffle=True, random_state=seed),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unseen levels in a fold are scored as the reference
        selector.fit(variables, y.to_numpy())
    chosen = set(selector.get_feature_names_out())
    return [name for name in candidates if name in chosen]


def odds_ratios(model, X: pd.DataFrame, y=None, *, level: float = 0.95) -> pd.DataFrame:
    """The odds-ratio table of a fitted logistic :class:`~vsvrisk.models.RiskModel`.

    The coefficients are the model's own (the unpenalised maximum-likelihood fit); statsmodels
    supplies their standard errors and intervals from the same likelihood, starting at the
    fitted values so it converges at once.

    Parameters
    ----------
    model : RiskModel
        Fitted, with ``learner="logistic"``.
    X : DataFrame
        The rows it was fitted on (the training cohort).
    y : array-like, default=None
        The target; ``None`` takes ``X["vsv"]``.
    level : float, default=0.95

    Returns
    -------
    DataFrame
        One row per model group and term: ``group``, ``term``, ``coef``, ``std_err``,
        ``odds_ratio``, ``or_low``, ``or_high``, ``p_value``, ``n_persons`` (the group's rows).
        An aggregate: no person-level values.
    """
    import statsmodels.api as sm

    if model.learner != "logistic":
        raise ValueError("odds ratios exist for the logistic learner only")
    y = X["vsv"] if y is None else y
    y = pd.Series(np.asarray(y, dtype=float), index=X.index)
    groups = model.model_groups(X)
    tables = []
    for group in model.models_:
        rows = groups == group
        pipeline = model.feature_pipeline(group)
        learner = model.learner_of(group)
        design = pipeline.transform(X.loc[rows]).to_numpy(dtype=float)
        start = np.r_[learner.intercept_, learner.coef_.ravel()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grouped = distinct_design(design, y[rows].to_numpy())
            if grouped is None:
                fit = sm.Logit(y[rows].to_numpy(), sm.add_constant(design, has_constant="add")).fit(
                    start_params=start, method="newton", maxiter=25, disp=0)
            else:  # the same likelihood over the distinct rows' (vsv, no vsv) counts
                distinct, positives, negatives = grouped
                fit = sm.GLM(np.column_stack([positives, negatives]), sm.add_constant(distinct, has_constant="add"),
                             family=sm.families.Binomial()).fit(start_params=start, method="newton", maxiter=25)
        params, bse, pvalues = (np.asarray(v) for v in (fit.params, fit.bse, fit.pvalues))
        interval = np.asarray(fit.conf_int(alpha=1 - level))
        terms = ["intercept", *pipeline.get_feature_names_out()]
        tables.append(
            pd.DataFrame(
                {
                    "group": group,
                    "term": terms,
                    "coef": params,
                    "std_err": bse,
                    "odds_ratio": np.exp(params),
                    "or_low": np.exp(interval[:, 0]),
                    "or_high": np.exp(interval[:, 1]),
                    "p_value": pvalues,
                    "n_persons": int(rows.sum()),
                }
            )
        )
    return pd.concat(tables, ignore_index=True)
