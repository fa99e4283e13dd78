"""The raw reference of the benchmarks: plain ``lightgbm.train`` as the library would train.

Same feature matrices (built outside the timing), the same per-group seeds, validation split,
parameters and early stopping as :class:`vsvrisk.models.RiskModel`, through LightGBM's own API.
"""

from __future__ import annotations

import time


def raw_lightgbm_fits(spec, frame, groups):
    """Per model group: ``(group, fitted feature pipeline, booster, seconds of lightgbm.train)``.

    Parameters
    ----------
    spec : ModelSpec
        A LightGBM spec (``configs/lightgbm.yaml``).
    frame : DataFrame
        The training cohort.
    groups : ndarray
        The model group of every row of ``frame`` (``RiskModel.model_groups``).
    """
    import lightgbm
    import numpy as np
    from sklearn.model_selection import train_test_split

    from vsvrisk.features import build_feature_pipeline
    from vsvrisk.models import LIGHTGBM_DEFAULTS

    rng = np.random.RandomState(spec.seed)
    for group in spec.features:
        seed = int(rng.randint(0, 2**31 - 1))  # the library's per-group seed
        rows = groups == group
        y = frame.loc[rows, "vsv"].astype(bool).to_numpy()
        pipeline = build_feature_pipeline(spec.feature_spec(group))
        matrix = pipeline.fit_transform(frame.loc[rows])
        train_idx, valid_idx = train_test_split(np.arange(len(y)), test_size=spec.validation_fraction,
                                                stratify=y, random_state=seed)
        params = {**LIGHTGBM_DEFAULTS, "random_state": seed, **spec.params, "objective": "binary"}
        rounds = params.pop("n_estimators")
        start = time.perf_counter()
        train = lightgbm.Dataset(matrix.iloc[train_idx], y[train_idx])
        valid = lightgbm.Dataset(matrix.iloc[valid_idx], y[valid_idx], reference=train)
        booster = lightgbm.train(params, train, num_boost_round=rounds, valid_sets=[valid],
                                 callbacks=[lightgbm.early_stopping(spec.early_stopping_rounds, verbose=False)])
        yield group, pipeline, booster, time.perf_counter() - start
