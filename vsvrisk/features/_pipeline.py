"""The pipeline a feature spec builds (the spec itself: :mod:`vsvrisk.features._spec`)."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from vsvrisk.features._age import AgeAtReferenceDate
from vsvrisk.features._encoding import CategoryEncoder
from vsvrisk.features._multiproblematiek import Multiproblematiek
from vsvrisk.features._spec import (
    ALLOWED_FEATURES,
    CATEGORICAL_FEATURES,
    DEFAULT_FEATURES,
    DERIVED_FEATURES,
    MISSING_LEVEL,
    FeatureSpec,
    MultiproblematiekSpec,
    WealthSpec,
    _as_spec,
)
from vsvrisk.features._wealth import WealthGroup

__all__ = ["ALLOWED_FEATURES", "CATEGORICAL_FEATURES", "DEFAULT_FEATURES", "DERIVED_FEATURES", "MISSING_LEVEL",
           "FeatureSpec", "MultiproblematiekSpec", "WealthSpec", "build_feature_pipeline"]


def build_feature_pipeline(spec=None) -> Pipeline:
    """Build the pipeline from the person-year table to the model matrix.

    Three steps, each a scikit-learn transformer with pandas output:

    1. ``derive`` (a ``ColumnTransformer``): :class:`AgeAtReferenceDate`,
       :class:`Multiproblematiek` and :class:`WealthGroup`, each only when a feature it makes
       is selected, and the selected columns of the table as they are. It picks its columns by
       name, so a frame to score may carry other columns (``vsv``, ``migration_background``)
       or another column order.
    2. ``select``: the features in the order of ``spec.features``.
    3. ``encode``: :class:`CategoryEncoder` (``category`` or ``onehot``); ``mbo_level`` and
       ``urbanisation`` are categorical, and a missing sector-specific value (``mbo_level``
       of a vo or vavo pupil, ...) is the level ``"none"``.

    Parameters
    ----------
    spec : FeatureSpec, dict, path or None, default=None
        The spec, its keys as a dict, or a YAML file (``configs/features.yaml``); ``None`` is
        the default spec.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted, with ``set_output(transform="pandas")``; ``get_feature_names_out()`` of the
        fitted pipeline equals the columns of its output.

    Raises
    ------
    ConfigError
        An unknown key, an unknown or excluded feature (named), or a bad value.

    See Also
    --------
    FeatureSpec : the keys of the spec.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({
    ...     "birth_date": pd.to_datetime(["2002-10-01", "2004-02-29"]),
    ...     "school_year": [2018, 2018],
    ...     "sector": pd.Categorical(["mbo", "vo"], categories=["vo", "mbo", "vavo"]),
    ...     "parents": pd.Categorical(["one", "both"], categories=["both", "one", "none"]),
    ... })
    >>> pipeline = build_feature_pipeline({"features": ["age_group", "parents"]})
    >>> pipeline.fit_transform(X)
       age_group_<=16  parents_one
    0             1.0          1.0
    1             0.0          0.0
    """
    spec = _as_spec(spec)
    features = list(spec.features)
    wanted = {DERIVED_FEATURES[name] for name in features if name in DERIVED_FEATURES}
    derive = []
    if "age" in wanted:
        age = AgeAtReferenceDate(upper_age=spec.upper_age)
        derive.append(("age", age, ["birth_date", "school_year", "sector"]))
    if "multiproblematiek" in wanted:
        domains = list(spec.multiproblematiek.domains)
        counter = Multiproblematiek(domains=domains, threshold=spec.multiproblematiek.threshold)
        derive.append(("multiproblematiek", counter, domains))
    if "wealth" in wanted:
        derive.append(("wealth", WealthGroup(edges=list(spec.wealth.edges)), ["wealth_percentile"]))
    table_columns = [name for name in features if name not in DERIVED_FEATURES]
    if table_columns:
        derive.append(("columns", "passthrough", table_columns))
    encoder = CategoryEncoder(
        columns=[name for name in features if name in CATEGORICAL_FEATURES],
        encoding=spec.encoding,
        drop=spec.drop,
        reference=dict(spec.reference),
        missing_level=MISSING_LEVEL,
    )
    names = {"verbose_feature_names_out": False}  # "age_group", not "age__age_group"
    pipeline = Pipeline(
        [
            ("derive", ColumnTransformer(derive, **names)),
            ("select", ColumnTransformer([("features", "passthrough", features)], **names)),
            ("encode", encoder),
        ]
    )
    # Pandas out is what users see; the column transformers would return NumPy arrays otherwise.
    return pipeline.set_output(transform="pandas")
