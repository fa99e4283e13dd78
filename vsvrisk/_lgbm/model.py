"""A LightGBM model as arrays, read from its own text format (what ``Booster(model_str=...)`` loads).

The text is the model LightGBM predicts with: thresholds as doubles written to round trip,
categorical splits as the 32-bit bitsets of ``Tree::CategoricalDecision``, training counts per
node. Reading it instead of ``dump_model()`` keeps the bitsets and the counts exact and is
several times faster. Which trees a prediction uses follows ``Booster.predict`` and
``GBDT::InitPredict`` (``include/LightGBM/boosting/gbdt.h``) to the letter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Tree::decision_type_ bits (include/LightGBM/tree.h): kCategoricalMask, kDefaultLeftMask,
# then the missing type in bits 2-3 (MissingType: None 0, Zero 1, NaN 2).
CATEGORICAL, DEFAULT_LEFT = 1, 2
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2


@dataclass
class TreeArrays:
    """One tree as LightGBM stores it; children < 0 are leaves (``~child`` is the leaf index)."""

    split_feature: np.ndarray  # (m,) int64, m = num_leaves - 1
    threshold: np.ndarray  # (m,) float64; a categorical node holds its bitset index here
    decision_type: np.ndarray  # (m,) int64
    left_child: np.ndarray
    right_child: np.ndarray
    leaf_value: np.ndarray  # (num_leaves,) float64
    leaf_count: np.ndarray  # (num_leaves,) float64: training rows in each leaf
    internal_count: np.ndarray  # (m,) float64
    cat_boundaries: np.ndarray  # (num_cat + 1,) int64
    cat_threshold: np.ndarray  # uint32 words of the bitsets

    @property
    def num_leaves(self) -> int:
        return self.leaf_value.size

    def missing_type(self, node: int) -> int:
        return (int(self.decision_type[node]) >> 2) & 3

    def is_categorical(self, node: int) -> bool:
        return bool(self.decision_type[node] & CATEGORICAL)

    def default_left(self, node: int) -> bool:
        return bool(self.decision_type[node] & DEFAULT_LEFT)

    def categories(self, node: int) -> np.ndarray:
        """The category codes that a categorical node sends left (its bitset's set bits)."""
        index = int(self.threshold[node])
        words = self.cat_threshold[self.cat_boundaries[index]:self.cat_boundaries[index + 1]]
        bits = np.unpackbits(words.astype("<u4").view(np.uint8), bitorder="little")
        return np.flatnonzero(bits)

    def expected_value(self) -> float:
        """``Tree::ExpectedValue``: the leaves weighted by their training counts."""
        if self.num_leaves == 1:
            return float(self.leaf_value[0])
        return float(np.sum(self.leaf_count / self.internal_count[0] * self.leaf_value))


@dataclass
class ModelArrays:
    """The parts of a LightGBM model that its SHAP values depend on."""

    trees: list  # TreeArrays, in LightGBM's order (iteration-major, then class)
    num_tree_per_iteration: int
    n_features: int  # max_feature_idx + 1: the width of pred_contrib's output, less the base
    feature_names: list
    is_linear: bool

    @property
    def num_iterations(self) -> int:
        return len(self.trees) // self.num_tree_per_iteration


def _numbers(text: str, dtype) -> np.ndarray:
    return np.array(text.split(), dtype=dtype) if text.strip() else np.zeros(0, dtype=dtype)


def parse_model(text: str) -> ModelArrays:
    """Read ``booster.model_to_string()`` into arrays.

    Examples
    --------
    >>> import lightgbm
    >>> X = np.arange(40.0).reshape(20, 2); y = X[:, 0] % 3
    >>> booster = lightgbm.train({"objective": "regression", "min_data_in_leaf": 2, "verbose": -1},
    ...                          lightgbm.Dataset(X, y), num_boost_round=2)
    >>> model = parse_model(booster.model_to_string(num_iteration=-1))
    >>> len(model.trees), model.n_features
    (2, 2)
    """
    header, _, rest = text.partition("\nTree=")
    keys = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
    body = ("Tree=" + rest).split("end of trees")[0]
    trees = [_parse_tree(block) for block in body.split("Tree=")[1:]]
    return ModelArrays(trees=trees, num_tree_per_iteration=int(keys.get("num_tree_per_iteration", 1)),
                       n_features=int(keys["max_feature_idx"]) + 1,
                       feature_names=keys.get("feature_names", "").split(),
                       is_linear=any("is_linear=1" in block for block in body.split("Tree=")[1:]))


def _parse_tree(block: str) -> TreeArrays:
    fields = dict(line.split("=", 1) for line in block.splitlines()[1:] if "=" in line)
    num_leaves = int(fields["num_leaves"])
    m = num_leaves - 1

    def ints(key, size):
        return _numbers(fields[key], np.int64) if key in fields else np.zeros(size, dtype=np.int64)

    return TreeArrays(
        split_feature=ints("split_feature", m)[:m],
        threshold=_numbers(fields.get("threshold", ""), np.float64)[:m],
        decision_type=ints("decision_type", m)[:m],
        left_child=ints("left_child", m)[:m],
        right_child=ints("right_child", m)[:m],
        leaf_value=_numbers(fields["leaf_value"], np.float64)[:num_leaves],
        leaf_count=ints("leaf_count", num_leaves)[:num_leaves].astype(np.float64),
        internal_count=ints("internal_count", m)[:m].astype(np.float64),
        cat_boundaries=ints("cat_boundaries", 0),
        cat_threshold=_numbers(fields.get("cat_threshold", ""), np.uint64).astype(np.uint32),
    )


def iteration_range(total: int, start_iteration: int, num_iteration: int) -> tuple[int, int]:
    """The iterations ``[first, last)`` that ``GBDT::InitPredict`` predicts with.

    ``num_iteration <= 0`` means every iteration from ``start_iteration`` on; a start beyond
    the model is clamped to its end (no trees: every contribution is zero).

    Examples
    --------
    >>> iteration_range(100, 0, -1), iteration_range(100, 10, 5), iteration_range(100, 98, 5)
    ((0, 100), (10, 15), (98, 100))
    """
    start = min(max(int(start_iteration), 0), total)
    count = min(int(num_iteration), total - start) if num_iteration > 0 else total - start
    return start, start + count
