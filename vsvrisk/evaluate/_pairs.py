"""Distinct (outcome, risk) pairs: counted once per cohort, scored by cumulative sums.

A model's risks repeat (the 1.5 million LightGBM risks of a national cohort take about 400,000
values, a logistic model's fewer), and every score of
:func:`vsvrisk.evaluate.classification_metrics` is a weighted sum or a weighted fit over the
distinct (outcome, risk) pairs: scoring the pairs with their counts as weights gives the scores
of the rows in a fraction of the time (ties stay ties).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class PairCounts:
    """The distinct (outcome, risk) pairs of any subset of one cohort's rows, from one sort.

    Each row gets the code ``2 * rank of its risk + outcome``. The pairs of a subset are the
    cohort's pairs that occur in it, in the same order (by risk, 0 before 1), so counting the
    subset's codes gives exactly the arrays a ``np.unique`` of the subset gives, without sorting
    each subset: the 68 cells of a national evaluation (sectors by groups, subsets of one
    another) share one sort. ``y`` must be 0/1 and ``p`` free of NaN.

    Examples
    --------
    >>> counts = PairCounts(np.array([0, 1, 0, 0]), np.array([0.2, 0.2, 0.2, 0.7]))
    >>> [a.tolist() for a in counts.pairs(np.array([False, True, True, True]))]
    [[0.0, 1.0, 0.0], [0.2, 0.2, 0.7], [1.0, 1.0, 1.0]]
    """

    def __init__(self, y, p):
        y = np.asarray(y, dtype=float)
        # np.unique(p, return_inverse=True), from a hash table and a sort of the distinct values
        # only (a third faster on a national cohort's risks).
        codes, uniques = pd.factorize(np.asarray(p, dtype=float))
        order = np.argsort(uniques)
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        self.values, self.codes = uniques[order], rank[codes] * 2 + (y == 1)

    def pairs(self, rows=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(y, p, counts) of the rows selected by ``rows`` (a mask or indices; all by default)."""
        codes = self.codes if rows is None else self.codes[rows]
        return self._kept(np.bincount(codes, minlength=2 * len(self.values)))

    def pairs_by_level(self, rows, levels: np.ndarray, n_levels: int):
        """(level, (y, p, counts)) of each level present among ``rows``; ``levels`` holds each
        row's level (0 to n_levels - 1; -1 for none). One count over the rows for all levels."""
        levels = levels[rows]
        known = levels >= 0
        size = 2 * len(self.values)
        counts = np.bincount(levels[known].astype(np.intp) * size + self.codes[rows][known], minlength=n_levels * size)
        for level in range(n_levels):
            if counts[level * size:(level + 1) * size].any():
                yield level, self._kept(counts[level * size:(level + 1) * size])

    def _kept(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        kept = np.flatnonzero(counts)
        return (kept % 2).astype(float), self.values[kept // 2], counts[kept].astype(float)


def pair_ranking(y: np.ndarray, p: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """ROC AUC and average precision of distinct (outcome, risk) pairs sorted by risk, 0 before 1.

    scikit-learn's definitions with ties (a tie between an event and a non-event counts half;
    one precision-recall point per distinct risk), as sums over the pairs: each event pair's
    count times the non-events below its risk plus half those at it (AUC), and times the
    precision at its risk (average precision). With whole counts every cumulative sum is exact.

    Examples
    --------
    >>> y, p, counts = PairCounts([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).pairs()
    >>> pair_ranking(y, p, counts)
    (0.75, 0.8333333333333333)
    """
    negatives = counts * (1 - y)
    positives = counts * y
    event = y == 1
    # The non-event pair at an event pair's risk, if any, is the pair just before it.
    tied = np.zeros(len(y))
    same = np.flatnonzero(event[1:] & (p[1:] == p[:-1])) + 1
    tied[same] = counts[same - 1]
    below = np.cumsum(negatives)  # non-events at or below each pair's risk
    total_negative, total_positive = below[-1], float(positives.sum())
    auc = float(positives[event] @ (below[event] - tied[event] / 2) / (total_positive * total_negative))
    # At or above an event pair's risk: the events from it up, the non-events from its tie up.
    events_above = total_positive - np.cumsum(positives) + positives
    negatives_above = total_negative - below + tied
    precision = events_above[event] / (events_above[event] + negatives_above[event])
    return auc, float(positives[event] @ precision / total_positive)
