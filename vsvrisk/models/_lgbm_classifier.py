"""LightGBM as the risk model's learner: a ``decision_function``, and distinct rows predicted once.

Public as :class:`vsvrisk.models.estimator.LGBMRiskClassifier` (its home here keeps the
estimator module to the model groups).
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd

__all__ = ["LGBMRiskClassifier", "DISTINCT_ROWS_FROM"]

#: From this many rows of a DataFrame on, each distinct row is predicted once: from per-tree
#: tables, or by LightGBM where the tables do not cover the model (a national cohort's vo learner
#: matrix has under half as many distinct rows as persons, and fewer distinct classes still).
DISTINCT_ROWS_FROM = 50_000
#: ... unless most rows are distinct anyway: then LightGBM's grouping costs more than it saves.
_MOST_DISTINCT = 0.8


def _distinct_rows(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct row of ``X`` and, per row, the number of its distinct row.

    Rows are equal when every value is (all NaN alike, as LightGBM reads them: every NaN goes
    the missing way, and 0.0 and -0.0 are both zero to it).
    """
    codes = X.groupby(list(X.columns), dropna=False, observed=True, sort=False).ngroup().to_numpy()
    first = np.empty(int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # reversed: the first occurrence wins
    return first, codes


class LGBMRiskClassifier(lightgbm.LGBMClassifier):
    """LightGBM with a ``decision_function`` (the raw log-odds), predicting distinct rows once.

    With ``decision_function``, ``CalibratedClassifierCV(method="sigmoid")`` is Platt scaling on
    the margin: a recalibration of the intercept and slope of the log-odds, which is what an
    out-of-time model usually needs (plain LightGBM would be calibrated on its probabilities).

    A person's prediction depends on that person's row alone, and a cohort's learner matrix
    repeats many rows (categories, flags, whole years of delay). From
    :data:`DISTINCT_ROWS_FROM` rows of a DataFrame on, ``predict_proba`` (and with it
    ``predict`` and ``decision_function``) predicts each distinct row once from per-tree tables
    (:class:`vsvrisk._lgbm.predict.TablePredictor`: the doubles LightGBM gives, to the last bit,
    in a fraction of the time); a model the tables do not cover (large trees, say) is asked of
    LightGBM once per distinct row.
    """

    def decision_function(self, X):
        return self.predict(X, raw_score=True)

    def predict_proba(self, X, raw_score=False, start_iteration=0, num_iteration=None, pred_leaf=False,
                      pred_contrib=False, validate_features=False, **kwargs):
        options = dict(raw_score=raw_score, start_iteration=start_iteration, num_iteration=num_iteration,
                       pred_leaf=pred_leaf, pred_contrib=pred_contrib, validate_features=validate_features, **kwargs)
        if pred_leaf or pred_contrib or kwargs or not isinstance(X, pd.DataFrame) or len(X) < DISTINCT_ROWS_FROM:
            return super().predict_proba(X, **options)
        p = self._table_predictions(X, raw_score, start_iteration, num_iteration)
        if p is not None:
            return p if raw_score else np.vstack((1.0 - p, p)).transpose()  # as LGBMClassifier stacks them
        first, rows = _distinct_rows(X)
        if len(first) > _MOST_DISTINCT * len(X) or rows.min() < 0:  # < 0: a row in no group (never seen)
            return super().predict_proba(X, **options)
        return super().predict_proba(X.iloc[first], **options)[rows]

    def _table_predictions(self, X: pd.DataFrame, raw_score: bool, start_iteration: int, num_iteration):
        """The predictions from per-tree tables, or None where LightGBM itself must answer."""
        # imported here: the compiled kernels (numba) load only when a large cohort is predicted
        from vsvrisk._lgbm.frame import lightgbm_columns
        from vsvrisk._lgbm.predict import TablePredictor

        booster = self.booster_
        if callable(self.objective) or X.shape[1] != booster.num_feature():  # LightGBM answers (or raises)
            return None
        predictor = TablePredictor.of(booster, start_iteration=start_iteration, num_iteration=num_iteration)
        if predictor is None:
            return None
        # only the columns the trees split on, as LightGBM would read them
        columns = lightgbm_columns(X, booster.pandas_categorical, predictor.classes.features)
        return predictor.predict(columns, raw_score=raw_score, n_jobs=self.n_jobs, used_only=True, n_rows=len(X))
