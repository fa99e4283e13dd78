"""A model's predictions for a cohort's pupils without a flag, with the flag set, one flag at a time.

The risk to watch (:func:`vsvrisk.policy.expected_registration_gain`) predicts, for each
registration, every pupil without it as if registered: six predictions of about 1.4 million rows
on a national cohort. A :class:`~vsvrisk.models.RiskModel`'s prediction of a row depends on that
row's values alone, so rows that the model cannot tell apart once the flag is set need one
prediction between them. Which rows those are follows from the model's structure:

- the feature pipeline's first step (``derive``) hands each of its blocks its own columns: a
  ``passthrough`` block passes every column on as it is, so the flag's column becomes the same
  value for every registered row and the others stay as they were; a feature made from the flag
  (``Multiproblematiek``) changes as a function of the columns it is made from;
- the steps after it (selection, :class:`~vsvrisk.features.CategoryEncoder`, dropping duplicate
  columns) make each output column from one column, so every feature not made from the flag keeps
  its value;
- two rows with the same learner input get the same prediction, and for LightGBM two rows whose
  every value goes the same way at every split of the trees (the classes of
  :mod:`vsvrisk._lgbm.classes`): far fewer classes than rows, as the wealth percentile and the age
  count only through the thresholds the trees use.

So two pupils without the flag are predicted alike once registered when they are in one model
group, one learner class, and agree on the other columns of any block that reads the flag. One
pupil of each such key is predicted, through the model's own ``predict_risk`` on the columns it
reads, and the prediction goes to every pupil of the key: the same doubles as predicting every
pupil. Where no feature is made from the flag and every group is LightGBM on the trees' tables
(:class:`~vsvrisk._lgbm.predict.TablePredictor`), not even those rows go through the features:
each group's distinct learner classes, with the classes of the flag's column changed to those of
a registered row, are predicted from the tables (the same doubles again). A model whose structure
is not this one (not a ``RiskModel``, another pipeline) gets exactly the plain path: every pupil
without the flag, predicted with the flag set.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from vsvrisk.features._age import AgeAtReferenceDate
from vsvrisk.features._encoding import CategoryEncoder
from vsvrisk.features._multiproblematiek import Multiproblematiek
from vsvrisk.features._wealth import WealthGroup
from vsvrisk.models.collinear import DropDuplicateColumns
from vsvrisk.models.estimator import LGBMRiskClassifier, RiskModel

__all__ = ["FlagPredictor"]

#: Derive blocks known to make each row's output from that row's values alone.
_ROW_BLOCKS = (AgeAtReferenceDate, Multiproblematiek, WealthGroup)
#: Where more keys than this share of the rows are distinct, every row is predicted.
_MOST_DISTINCT = 0.8
#: Below this many rows the keys are not worth their pass over the cohort.
_KEYS_FROM = 20_000


class FlagPredictor:
    """Predictions of ``model`` for the rows of ``X`` without a flag, with that flag set to True.

    Parameters
    ----------
    model : fitted estimator
        Anything with ``predict_risk``; a :class:`~vsvrisk.models.RiskModel` predicts each
        distinct key once (module docstring), any other model every row.
    X : DataFrame
        The cohort.

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> frame = generate(30_000, seed=3).frame
    >>> model = RiskModel("logistic", {"vo": ["psychosocial", "parents"],
    ...                                "mbo": ["psychosocial", "mbo_level"]}).fit(frame)
    >>> without, p = FlagPredictor(model, frame).predict("psychosocial")
    >>> plain = model.predict_risk(frame[without].assign(psychosocial=True)).to_numpy()
    >>> bool(np.array_equal(p, plain)), int(without.sum()) == len(p)
    (True, True)
    """

    def __init__(self, model, X: pd.DataFrame):
        self.model, self.X = model, X
        read = model.input_columns_ if isinstance(model, RiskModel) else None
        # Only the columns the model reads: copying person ids and the rest for each flag cost
        # more than the predictions of the plain path save.
        self.frame = X if read is None else X[[name for name in X.columns if name in set(read)]]
        self._groups = _group_structure(model) if read is not None and len(X) >= _KEYS_FROM else None
        self._base = None  # per model group: its rows and each row's learner class (on first use)
        self._tables = {}  # per model group: the trees' table predictor and its classes' codes, or None

    def predict(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows without ``name`` (a boolean mask) and their predictions with ``name`` set.

        The predictions are those of ``model.predict_risk(X[without].assign(**{name: True}))``.
        """
        without = ~self.X[name].to_numpy(dtype=bool)
        if self._groups is not None and without.any() and self._prepared(name):
            tabled = self._from_tables(name, without)
            if tabled is not None:
                return without, tabled
        keyed = self._keys(name, without) if self._groups is not None and without.any() else None
        if keyed is None:
            return without, self._plain(name, without)
        keys, n_keys = keyed
        first = np.full(n_keys, -1, dtype=np.int64)
        first[keys[::-1]] = np.arange(keys.size - 1, -1, -1)  # reversed: the first row of a key wins
        used = first >= 0
        if used.sum() > _MOST_DISTINCT * keys.size:
            return without, self._plain(name, without)
        registered = self.frame.iloc[np.flatnonzero(without)[first[used]]].copy()
        registered[name] = True
        return without, self.model.predict_risk(registered).to_numpy()[np.cumsum(used)[keys] - 1]

    def _plain(self, name: str, without: np.ndarray) -> np.ndarray:
        registered = self.frame.loc[without].copy()
        registered[name] = True
        return self.model.predict_risk(registered).to_numpy()

    def _keys(self, name: str, without: np.ndarray) -> tuple[np.ndarray, int] | None:
        """Per row without ``name``, a key below the number returned: rows of one key are
        predicted alike once registered. None where the model's structure does not say."""
        if not self._prepared(name):
            return None
        keys = np.empty(len(self.X), dtype=np.int64)
        offset = 0
        for group, (rows, classes, n_classes) in self._base.items():
            # the other columns of every block that makes a feature from the flag
            readers = [columns for columns in self._groups[group] if columns is not None and name in columns]
            others = list(dict.fromkeys(column for columns in readers for column in columns if column != name))
            values, n_values = _row_codes(self.frame.loc[rows, others]) if others else (0, 1)
            keys[rows] = offset + classes * n_values + values
            offset += n_classes * n_values
        keys = keys[without]
        if offset > 4 * len(keys):  # many more possible keys than rows: number those there are
            keys, distinct = pd.factorize(keys)
            offset = len(distinct)
        return keys, offset

    def _prepared(self, name: str) -> bool:
        """Whether the groups' learner classes are known (found on first use) and ``name`` keeps
        every row in its model group."""
        if name == "sector" and self.model.sectors != "pooled":  # it would move rows between groups
            return False
        if self._base is None:
            self._base = self._learner_classes()
            if self._base is None:
                self._groups = None
                return False
        return True

    def _learner_classes(self) -> dict | None:
        """Per model group, its rows, each row's learner class and the number of classes."""
        groups = self.model.model_groups(self.frame)
        if not np.isin(groups, list(self.model.models_)).all():  # the plain path says which rows
            return None
        base = {}
        for group in self.model.models_:
            rows = groups == group
            if not rows.any():
                continue
            features = self.model.feature_pipeline(group).transform(self.frame.loc[rows])
            learner = self.model.learner_of(group)
            found = _lightgbm_classes(learner, features) if isinstance(learner, LGBMRiskClassifier) else None
            self._tables[group] = None
            if found is None:  # rows of one learner input, value by value
                try:
                    classes, n_classes = _row_codes(features)
                except (TypeError, ValueError):
                    return None
            else:
                classes, predictor, class_codes = found
                n_classes = len(class_codes)
                fitted = self.model.models_[group]  # the tables answer the learner, not a calibration on it
                if isinstance(fitted, Pipeline) and fitted[-1] is learner:
                    self._tables[group] = (predictor, class_codes)
            base[group] = (rows, classes, n_classes)
        return base

    def _from_tables(self, name: str, without: np.ndarray) -> np.ndarray | None:
        """The predictions of the rows without ``name``, registered, from each group's distinct
        learner classes with the flag's classes changed (the trees' tables predict them): no
        pass of the registered rows through the features. None where a group has no tables or
        a feature is made from the flag (``Multiproblematiek``)."""
        if any(self._tables.get(group) is None for group in self._base) or \
                any(columns is not None and name in columns for blocks in self._groups.values() for columns in blocks):
            return None
        out = np.empty(len(self.X))
        for group, (rows, classes, _) in self._base.items():
            predictor, codes = self._tables[group]
            changed = self._registered_classes(group, name, rows, predictor)
            if changed is not None:
                codes = codes.copy()
                codes[:, changed[0]] = changed[1]
            out[rows] = predictor.predict_codes(codes, n_jobs=self.model.learner_of(group).n_jobs or -1)[classes]
        return out[without]

    def _registered_classes(self, group: str, name: str, rows: np.ndarray, predictor) -> tuple | None:
        """(positions, classes): the learner classes that registering a row changes, among the
        features the trees split on, and their values once registered; None where none changes.

        Found from one row of the group taken through the features with the flag unset and set:
        each learner column is made from its own column alone (the module docstring), so the
        columns made from the flag change the same way for every row."""
        from vsvrisk._lgbm.frame import lightgbm_columns

        used = predictor.classes.features
        if not used.size:  # trees without a split: nothing to change
            return None
        booster = self.model.learner_of(group).booster_
        first = int(np.argmax(rows))
        pair = self.frame.iloc[[first, first]].copy()
        pair[name] = [False, True]
        features = self.model.feature_pipeline(group).transform(pair)
        codes = predictor.classes.encode(lightgbm_columns(features, booster.pandas_categorical, used))
        changed = np.flatnonzero(codes[0] != codes[1])
        return (changed, codes[1, changed]) if changed.size else None


def _group_structure(model: RiskModel) -> dict | None:
    """Per model group, the columns of each derive block (None for a passthrough block), or None
    where a group's pipeline is not the one the module docstring reasons about."""
    structure = {}
    for group in model.models_:
        steps = [step for _, step in model.feature_pipeline(group).steps]
        if not isinstance(steps[0], Pipeline) or not all(isinstance(s, DropDuplicateColumns) for s in steps[1:]):
            return None
        inner = [step for _, step in steps[0].steps]
        if [type(step) for step in inner] != [ColumnTransformer, ColumnTransformer, CategoryEncoder]:
            return None
        derive, select, _ = inner
        if any(kind not in ("passthrough", "drop") for kind, _ in _blocks(select)):
            return None
        blocks = []
        for kind, columns in _blocks(derive):
            if kind == "drop":
                continue
            if not isinstance(columns, list) or not all(isinstance(column, str) for column in columns):
                return None
            if kind == "passthrough":
                blocks.append(None)
            elif isinstance(kind, _ROW_BLOCKS):
                blocks.append(list(columns))
            else:
                return None
        structure[group] = blocks
    return structure


def _blocks(transformer: ColumnTransformer) -> list[tuple[object, object]]:
    """(kind, columns) of each block of a fitted ColumnTransformer: "drop", "passthrough" or the
    fitted transformer. A fitted passthrough block is an identity FunctionTransformer: it is
    named as given."""
    given = {name: block for name, block, _ in transformer.transformers}
    given["remainder"] = transformer.remainder
    return [(given[name] if isinstance(given.get(name), str) else block, columns)
            for name, block, columns in transformer.transformers_]


def _lightgbm_classes(learner: LGBMRiskClassifier, X: pd.DataFrame) -> tuple | None:
    """Per row of ``X``, its class under the trees ``learner.predict_proba`` reads (rows of one
    class go the same way at every split), the trees' :class:`~vsvrisk._lgbm.predict.TablePredictor`
    and each class's codes. None where the per-tree tables do not cover the model."""
    # imported here, as in LGBMRiskClassifier: the compiled kernels (numba) load only when used
    from vsvrisk._lgbm.classes import distinct_rows
    from vsvrisk._lgbm.frame import lightgbm_columns
    from vsvrisk._lgbm.predict import TablePredictor

    booster = learner.booster_
    if callable(learner.objective) or X.shape[1] != booster.num_feature():
        return None
    predictor = TablePredictor.of(booster)  # predict_proba's default: the best iteration
    if predictor is None:
        return None
    used = predictor.classes.features
    if not used.size:  # no split: one class
        return np.zeros(len(X), dtype=np.int64), predictor, np.zeros((min(len(X), 1), 0), dtype=np.int32)
    jobs = learner.n_jobs if learner.n_jobs is not None and learner.n_jobs >= 1 else os.cpu_count() or 1
    codes = predictor.classes.encode(lightgbm_columns(X, booster.pandas_categorical, used), n_jobs=jobs)
    first, classes = distinct_rows(codes, predictor.classes.n_classes)
    return classes, predictor, codes[first]


def _row_codes(frame: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Per row, the number of its distinct row (equal values, all missing values alike), and
    how many there are."""
    codes, bound = np.zeros(len(frame), dtype=np.int64), 1
    for column in frame.columns:
        values, levels = pd.factorize(frame[column], use_na_sentinel=False)
        if bound * (len(levels) + 1) >= 2**62:  # renumber before the mixed-radix key could overflow
            codes, distinct = pd.factorize(codes)
            bound = len(distinct)
        codes = codes * len(levels) + values
        bound *= max(len(levels), 1)
    codes, distinct = pd.factorize(codes)
    return codes.astype(np.int64, copy=False), len(distinct)
