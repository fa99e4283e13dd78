"""The risk model: one scikit-learn estimator over the person-year table, a model per group.

``RiskModel`` routes each row to its model group (``vo``; ``mbo`` with ``vavo``; or one pooled
group), builds that group's features (:func:`vsvrisk.features.build_feature_pipeline`), fits
the learner, and optionally recalibrates it on a held-out split with scikit-learn's
``CalibratedClassifierCV`` around a ``FrozenEstimator``.
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from vsvrisk.data.codes import MODEL_GROUP
from vsvrisk.exceptions import ConfigError, SchemaError
from vsvrisk.features import build_feature_pipeline
from vsvrisk.models._distinct import fit_on_distinct_rows
from vsvrisk.models._lgbm_classifier import LGBMRiskClassifier
from vsvrisk.models._threads import SideBySide, side_by_side_threads
from vsvrisk.models.collinear import DropDuplicateColumns
from vsvrisk.models.spec import ModelSpec

__all__ = ["RiskModel", "LGBMRiskClassifier", "LIGHTGBM_DEFAULTS"]

#: LightGBM defaults; a spec's ``params`` override them. ``n_estimators`` is a ceiling: early
#: stopping on a validation split picks the number of trees.
#: The order the model groups' seeds are drawn in, whatever order a spec lists them in.
_GROUP_ORDER = {"vo": 0, "mbo": 1, "all": 2}

LIGHTGBM_DEFAULTS = {
    "n_estimators": 2000,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 200,
    "subsample_freq": 0,
    "reg_lambda": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}

_SPEC_FIELDS = (
    "learner", "sectors", "vavo_with", "features", "excluded_features", "allow_excluded",
    "upper_age", "reference", "params", "calibration", "calibration_fraction",
    "validation_fraction", "early_stopping_rounds", "stepwise",
)


class RiskModel(ClassifierMixin, BaseEstimator):
    """Predicted risk of vsv from background characteristics, a model per model group.

    The parameters mirror the model spec (:class:`~vsvrisk.models.ModelSpec`; see
    ``configs/cbs-replica.yaml``); :meth:`from_spec` builds one from a spec or YAML file.

    Parameters
    ----------
    learner : {"logistic", "lightgbm"}
    features : dict
        Feature list per model group (``vo`` and ``mbo``, or ``all`` when pooled).
    sectors : {"separate", "pooled"}, default="separate"
    vavo_with : {"mbo", "vo"}, default="mbo"
    excluded_features : list of str, default=["migration_background"]
        Refused as features at fit time unless ``allow_excluded``.
    allow_excluded : bool, default=False
    upper_age : int, default=23
    reference : dict or None
        Logistic: the reference level per categorical feature.
    params : dict or None
        Hyper-parameters of the learner (over :data:`LIGHTGBM_DEFAULTS` for LightGBM).
    calibration : {"none", "sigmoid", "isotonic"}, default="none"
    calibration_fraction : float, default=0.2
    validation_fraction : float, default=0.1
    early_stopping_rounds : int, default=50
    stepwise : dict or None
        Forward stepwise selection (logistic only), keys of :class:`StepwiseSpec`.
    random_state : int, default=0

    Attributes
    ----------
    models_ : dict
        The fitted estimator of each model group (a ``Pipeline`` of features and learner, or
        a ``CalibratedClassifierCV`` around it).
    selected_features_ : dict
        The features each group's model uses (after stepwise selection, if any).
    classes_ : ndarray
        ``[False, True]``: column 1 of :meth:`predict_proba` is the risk of vsv.

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> frame = generate(20_000, seed=1).frame
    >>> model = RiskModel(learner="logistic",
    ...                   features={"vo": ["age_group", "vo_type"], "mbo": ["age_group", "mbo_level"]})
    >>> risk = model.fit(frame).predict_risk(frame)
    >>> bool(risk.between(0, 1).all()), list(model.models_)
    (True, ['vo', 'mbo'])
    """

    def __init__(
        self,
        learner="lightgbm",
        features=None,
        *,
        sectors="separate",
        vavo_with="mbo",
        excluded_features=("migration_background",),
        allow_excluded=False,
        upper_age=23,
        reference=None,
        params=None,
        calibration="none",
        calibration_fraction=0.2,
        validation_fraction=0.1,
        early_stopping_rounds=50,
        stepwise=None,
        random_state=0,
    ):
        self.learner = learner
        self.features = features
        self.sectors = sectors
        self.vavo_with = vavo_with
        self.excluded_features = excluded_features
        self.allow_excluded = allow_excluded
        self.upper_age = upper_age
        self.reference = reference
        self.params = params
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.stepwise = stepwise
        self.random_state = random_state

    @classmethod
    def from_spec(cls, spec) -> RiskModel:
        """Build an unfitted model from a :class:`ModelSpec`, a dict or a YAML path."""
        from vsvrisk.models.spec import load_model_spec

        spec = load_model_spec(spec)
        values = {name: getattr(spec, name) for name in _SPEC_FIELDS}
        values["stepwise"] = spec.stepwise.model_dump()
        return cls(**values, random_state=spec.seed)

    def _spec(self) -> ModelSpec:
        # Validation goes through the same pydantic model as the YAML file, so a bad value
        # gets the same one-line message whichever door it came in by.
        from vsvrisk.config import validate_config

        values = {name: getattr(self, name) for name in _SPEC_FIELDS}
        values["features"] = values["features"] if values["features"] is not None else {}
        values["excluded_features"] = list(values["excluded_features"])
        values["reference"] = values["reference"] or {}
        values["params"] = values["params"] or {}
        values["stepwise"] = values["stepwise"] or {}
        return validate_config({"name": "RiskModel", **values, "seed": self.random_state}, ModelSpec, source="RiskModel")

    def model_groups(self, X: pd.DataFrame) -> np.ndarray:
        """The model group of every row of ``X`` (``vo``/``mbo``, or ``all`` when pooled)."""
        if self.sectors == "pooled":
            return np.full(len(X), "all", dtype=object)
        mapping = {**MODEL_GROUP, "vavo": self.vavo_with}
        # a handful of sector names: map those, not every row (a national cohort has 1.5 M)
        codes, sectors = pd.factorize(X["sector"])
        groups = np.array([mapping.get(sector, np.nan) for sector in sectors] + [np.nan], dtype=object)
        return groups[codes]  # code -1 (missing) takes the last: NaN, as an unknown sector

    @staticmethod
    def _check_frame(X, what: str) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise SchemaError(f"{what}: X must be a person-year DataFrame (vsvrisk.data.read_person_years), got {type(X).__name__}")
        if "sector" not in X:
            raise SchemaError(f"{what}: column 'sector' not found in X: it routes each row to its model")
        return X

    def fit(self, X, y=None):
        """Fit a model per model group.

        Parameters
        ----------
        X : DataFrame
            A person-year table (DESIGN section 4).
        y : array-like of bool, default=None
            The target; ``None`` takes ``X["vsv"]``.

        Returns
        -------
        self
        """
        spec = self._spec()
        X = self._check_frame(X, "fit")
        if y is None:
            if "vsv" not in X:
                raise SchemaError("fit: no y given and column 'vsv' not found in X: pass y or add the target")
            y = X["vsv"]
        y = pd.Series(pd.array(np.asarray(y, dtype=object), dtype="boolean"), index=X.index)
        if y.isna().any():
            raise SchemaError(f"fit: the target is missing for {int(y.isna().sum())} rows: fit on a cohort with known vsv")
        y = y.astype(bool)
        used = {name for names in spec.features.values() for name in names}
        excluded = sorted(used & set(spec.excluded_features))
        if excluded and not spec.allow_excluded:  # a second guard, at fit time (DESIGN 3)
            raise ConfigError(f"feature '{excluded[0]}' is excluded from every model: remove it from the features")
        groups = self.model_groups(X)
        # Each group's seed is drawn in a fixed order of the groups, not in the order the spec lists
        # them: a config saved with sorted keys (yaml.safe_dump puts mbo first) must fit the same model.
        rng = np.random.RandomState(self.random_state)
        canonical = sorted(spec.features, key=_GROUP_ORDER.__getitem__)
        seeds = {group: int(rng.randint(0, 2**31 - 1)) for group in canonical}
        self.models_, self.selected_features_, self.n_rows_ = {}, {}, {}
        for group in spec.features:
            rows = groups == group
            if not rows.any():
                raise SchemaError(f"fit: no rows for model group '{group}': the training cohort lacks that sector")
            if y[rows].nunique() < 2:
                raise SchemaError(f"fit: model group '{group}' has only one outcome; it needs both vsv and non-vsv rows")
            self.n_rows_[group] = int(rows.sum())
        threads = side_by_side_threads(spec.learner, len(spec.features), {**LIGHTGBM_DEFAULTS, **spec.params},
                                       set(spec.params))
        side = None if threads is None else SideBySide(threads)

        def fit_group(group: str):
            rows = groups == group
            return self._fit_group(spec, group, X.loc[rows], y[rows], seeds[group], side)

        if side is None:
            fitted = [fit_group(group) for group in spec.features]
        else:
            fitted = side.map(fit_group, list(spec.features))
        self.models_ = dict(zip(spec.features, fitted))
        # in the spec's order, whichever group's fit finished first
        self.selected_features_ = {group: self.selected_features_[group] for group in spec.features}
        self.groups_ = tuple(self.models_)
        self.classes_ = np.array([False, True])
        return self

    def _fit_group(self, spec: ModelSpec, group: str, X: pd.DataFrame, y: pd.Series, seed: int,
                   side: SideBySide | None = None):
        X_fit, y_fit, X_cal, y_cal = X, y, None, None
        if spec.calibration != "none":
            X_fit, X_cal, y_fit, y_cal = train_test_split(
                X, y, test_size=spec.calibration_fraction, stratify=y, random_state=seed
            )
        feature_spec = spec.feature_spec(group)
        if spec.learner == "logistic":
            if spec.stepwise.enabled:
                from vsvrisk.models.logistic import forward_select

                chosen = forward_select(X_fit, y_fit, feature_spec, spec.stepwise, seed)
                feature_spec = feature_spec.model_copy(update={"features": chosen})
            model = self._fit_logistic(feature_spec, spec.params, X_fit, y_fit)
        else:
            model = self._fit_lightgbm(feature_spec, spec, X_fit, y_fit, seed, side)
        self.selected_features_[group] = list(feature_spec.features)
        if X_cal is not None:
            model = CalibratedClassifierCV(FrozenEstimator(model), method=spec.calibration).fit(X_cal, y_cal)
        return model

    @staticmethod
    def _fit_logistic(feature_spec, params: dict, X: pd.DataFrame, y: pd.Series) -> Pipeline:
        learner = LogisticRegression(**{"C": np.inf, "solver": "newton-cholesky", "max_iter": 200, **params})
        features, collinear = build_feature_pipeline(feature_spec), DropDuplicateColumns()
        matrix = collinear.fit_transform(features.fit_transform(X, y), y)
        # The same fit as Pipeline.fit, with the likelihood summed per distinct row of the design.
        fit_on_distinct_rows(learner, matrix, y)
        return Pipeline([("features", features), ("collinear", collinear), ("learner", learner)])

    @staticmethod
    def _fit_lightgbm(feature_spec, spec: ModelSpec, X: pd.DataFrame, y: pd.Series, seed: int,
                      side: SideBySide | None = None) -> Pipeline:
        features = build_feature_pipeline(feature_spec).fit(X)
        matrix = features.transform(X)
        train_idx, valid_idx = train_test_split(
            np.arange(len(y)), test_size=spec.validation_fraction, stratify=y, random_state=seed
        )
        params = {**LIGHTGBM_DEFAULTS, "random_state": seed, **spec.params}
        learner = LGBMRiskClassifier(**params)
        callbacks = [lightgbm.early_stopping(spec.early_stopping_rounds, verbose=False)]
        if side is not None:
            learner.set_params(n_jobs=side.threads)
            callbacks.append(side.callback())
        learner.fit(
            matrix.iloc[train_idx],
            y.iloc[train_idx],
            eval_X=(matrix.iloc[valid_idx],),
            eval_y=(y.iloc[valid_idx],),
            callbacks=callbacks,
        )
        if side is not None:  # predictions use the threads the spec asks for, as before
            learner.set_params(n_jobs=params.get("n_jobs"))
        return Pipeline([("features", features), ("learner", learner)])

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of no vsv (column 0) and vsv (column 1) for every row of ``X``."""
        check_is_fitted(self, "models_")
        X = self._check_frame(X, "predict_proba")
        groups = self.model_groups(X)
        # Each group's rows are copied with the columns the models read only: a cohort's person ids
        # (Arrow text) and dates cost more to copy than the rest together. A column the models
        # read that X lacks stays out, for the pipeline to name.
        read = set(self.input_columns_)
        X = X[[name for name in X.columns if name in read]]
        risk = np.full(len(X), np.nan)
        for group, model in self.models_.items():
            rows = groups == group
            if rows.any():
                risk[rows] = model.predict_proba(X.loc[rows])[:, 1]
        unknown = ~np.isin(groups, list(self.models_))
        if unknown.any():
            raise SchemaError(f"predict_proba: {int(unknown.sum())} rows belong to no fitted model group (sector missing or unknown)")
        return np.column_stack([1 - risk, risk])

    def predict_risk(self, X) -> pd.Series:
        """The predicted risk of vsv as a Series ``p`` aligned with ``X``'s index."""
        return pd.Series(self.predict_proba(X)[:, 1], index=X.index, name="p")

    def predict(self, X) -> np.ndarray:
        """Whether the risk is above one half (rarely useful: the budget uses probabilities)."""
        return self.predict_proba(X)[:, 1] > 0.5

    def feature_pipeline(self, group: str) -> Pipeline:
        """The fitted feature pipeline of a model group (before the learner)."""
        check_is_fitted(self, "models_")
        model = self.models_[group]
        if isinstance(model, CalibratedClassifierCV):
            model = model.estimator.estimator  # CalibratedClassifierCV -> FrozenEstimator -> Pipeline
        return model[:-1]

    def learner_of(self, group: str):
        """The fitted learner (LogisticRegression or LGBMClassifier) of a model group."""
        check_is_fitted(self, "models_")
        model = self.models_[group]
        if isinstance(model, CalibratedClassifierCV):
            model = model.estimator.estimator
        return model[-1]

    @property
    def input_columns_(self) -> list[str]:
        """The columns of the person-year table that predictions read, in order of first use.

        ``sector`` (it routes each row to its model group, unless pooled) and every column a
        group's features are made from: a frame to score may leave out any other. Read from the
        fitted pipelines, so a model pickled before this attribute existed has it too.
        """
        check_is_fitted(self, "models_")
        columns = [] if self.sectors == "pooled" else ["sector"]
        for group in self.models_:
            derive = self.feature_pipeline(group)["features"]["derive"]
            for _, transformer, names in derive.transformers_:
                if not (isinstance(transformer, str) and transformer == "drop"):
                    columns.extend(name for name in names if name not in columns)
        return columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        return tags

