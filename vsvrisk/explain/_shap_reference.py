"""Plain numpy TreeSHAP for one leaf: the reference the compiled kernels are tested against."""

from __future__ import annotations

import math

import numpy as np


def leaf_contributions_reference(value: float, z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """The contributions (n, d) of one leaf for each row of ``o`` (n, d) of 0/1, in plain numpy.

    The reference :func:`vsvrisk.explain._shap_kernels.leaf_table` is tested against: the same polynomial,
    vectorised over rows, with the game without feature ``i`` multiplied out directly
    (``O(d^2)`` a feature) rather than divided out.

    Examples
    --------
    >>> leaf_contributions_reference(2.0, np.array([0.5]), np.array([[1.0], [0.0]]))
    array([[ 1.],
           [-1.]])
    """
    n, d = o.shape
    weights = np.array([math.factorial(s) * math.factorial(d - 1 - s) / math.factorial(d) for s in range(d)])
    out = np.empty((n, d))
    for i in range(d):
        poly = np.zeros((n, d))
        poly[:, 0] = 1.0
        for j in (j for j in range(d) if j != i):
            shifted = poly[:, :-1] * o[:, j:j + 1]
            poly *= z[j]
            poly[:, 1:] += shifted
        out[:, i] = value * (o[:, i] - z[i]) * (poly @ weights)
    return out
