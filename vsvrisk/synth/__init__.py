"""Synthetic person-year populations with a known truth.

``generate`` draws a frame that satisfies the data contract of :mod:`vsvrisk.data`, with the
target drawn from a known logistic truth (:class:`SyntheticTruth`), so that every model can be
compared with the oracle. :func:`published_figures` checks a population against the figures
of DESIGN section 5.
"""

from vsvrisk.synth.figures import PUBLISHED_FIGURES, published_figures
from vsvrisk.synth.population import SyntheticPopulation, generate
from vsvrisk.synth.truth import INTERACTIONS, SyntheticTruth, default_truth

__all__ = [
    "INTERACTIONS",
    "PUBLISHED_FIGURES",
    "SyntheticPopulation",
    "SyntheticTruth",
    "default_truth",
    "generate",
    "published_figures",
]
