"""Synthetic person-year populations with a known truth.

``generate`` draws a frame that satisfies the data contract of :mod:`vsvrisk.data`, with the
target drawn from a known logistic truth (:class:`SyntheticTruth`), so that every model can be
compared with the oracle. :func:`published_figures` checks one school year of a population
against the published figures of that year (DESIGN section 5); :func:`published_targets` lists
them with their sources and accepted ranges.
"""

from vsvrisk.synth.figures import published_figures, published_rates, published_targets
from vsvrisk.synth.population import SyntheticPopulation, generate
from vsvrisk.synth.truth import INTERACTIONS, SyntheticTruth, default_truth

__all__ = [
    "INTERACTIONS",
    "SyntheticPopulation",
    "SyntheticTruth",
    "default_truth",
    "generate",
    "published_figures",
    "published_rates",
    "published_targets",
]
