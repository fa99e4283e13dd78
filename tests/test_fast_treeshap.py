"""The pattern-sharing TreeSHAP path equals LightGBM's own pred_contrib."""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest

from vsvrisk.explain.fast_treeshap import fast_pred_contrib


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(12, 23, n).astype(float),
        "wealth": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 101, n)).astype(float),
        "delay": np.where(rng.random(n) < 0.3, 0.0, rng.integers(1, 4, n)).astype(float),
        "level": pd.Categorical(rng.choice(["1", "2", "3", "4", "none"], n)),
        "parents": pd.Categorical(rng.choice(["both", "one", "none"], n, p=[0.7, 0.25, 0.05])),
    })
    frame.loc[rng.random(n) < 0.05, "parents"] = np.nan
    logit = (-3 + 0.2 * (frame["age"] - 16) + 0.4 * frame["delay"] - 0.01 * frame["wealth"].fillna(20)
             + frame["level"].map({"1": 1.5, "2": 0.8, "3": 0.0, "4": -0.2, "none": 0.5}).astype(float)
             + frame["parents"].map({"both": 0.0, "one": 0.4, "none": 0.9}).astype(float).fillna(0.6))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


@pytest.mark.parametrize("zero_as_missing", [False, True], ids=["NaN as missing", "zero as missing"])
def test_equal_to_pred_contrib_with_numerical_categorical_and_missing_features(zero_as_missing):
    frame, y = _frame(20_000, seed=1)
    params = {"objective": "binary", "num_leaves": 31, "min_child_samples": 20, "verbose": -1,
              "zero_as_missing": zero_as_missing, "cat_smooth": 1, "min_data_per_group": 5}
    booster = lightgbm.train(params, lightgbm.Dataset(frame, y), num_boost_round=40)
    fresh, _ = _frame(5_000, seed=2)  # rows the model never saw, other missing patterns
    expected = booster.predict(fresh, pred_contrib=True)
    np.testing.assert_allclose(fast_pred_contrib(booster, fresh), expected, rtol=0, atol=1e-9)


def test_contributions_add_up_to_the_raw_margin():
    frame, y = _frame(10_000, seed=3)
    booster = lightgbm.train({"objective": "binary", "num_leaves": 15, "verbose": -1}, lightgbm.Dataset(frame, y), 25)
    contributions = fast_pred_contrib(booster, frame)
    np.testing.assert_allclose(contributions.sum(axis=1), booster.predict(frame, raw_score=True), atol=1e-9)
