"""Models side by side on one cohort: which differences are real, and one sentence per pair.

:func:`compare_predictions` takes the predictions of two or more models for the same persons
and reports, per sector, each model's scores (AUC, Brier score, log loss, calibration slope and
intercept) and, for every pair, the paired difference with its 95% interval
(:mod:`vsvrisk.evaluate.paired`): AUC by DeLong's method, Brier score and log loss as means
of per-person differences, and the distance of the need shares to a reference by a paired
bootstrap over persons. The reference is the synthetic truth (``p_true_features``) when the
cohort has it, else the observed vsv (real data: observed against expected per region).

A difference is *detectable* when its interval excludes 0. The intervals are per comparison
(not adjusted for the number of pairs and sectors); with many models, read them as a screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vsvrisk.evaluate.metrics import classification_metrics
from vsvrisk.evaluate.paired import (
    delong_auc_difference,
    need_distance_bootstrap,
    paired_mean_difference,
    person_losses,
)
from vsvrisk.evaluate.validation import _sector_masks

__all__ = ["ModelComparison", "compare_predictions", "COMPARISON_LABELS", "SECTOR_LABELS"]

#: The label and the meaning of every measure on the comparison's page and in its sentences.
COMPARISON_LABELS = {
    "roc_auc": ("AUC", "Area under the ROC curve: the chance that a random pupil who leaves school early got "
                "a higher predicted risk than a random pupil who stays. 0.5 is chance, 1 perfect; higher is better."),
    "brier": ("Brier score", "Mean squared difference between predicted risk and outcome (0 or 1); lower is "
              "better. It rewards ranking and calibration together."),
    "log_loss": ("log loss", "Mean negative log-likelihood of the outcomes under the predicted risks; lower is "
                 "better. Punishes confident wrong predictions more than the Brier score does."),
    "calibration_slope": ("calibration slope", "Coefficient of the predicted log-odds in a logistic regression "
                          "of the outcome on them. 1 is ideal; below 1 the risks are too extreme, above 1 too "
                          "timid. A statistic of each model, not a difference."),
    "calibration_intercept": ("calibration-in-the-large", "Intercept of that regression with the predicted "
                              "log-odds as offset. 0 is ideal; above 0 the risks are too low on average, below "
                              "0 too high. A drop in vsv from one cohort to the next shows here for every model."),
    "need_distance": ("distance of need shares", "Sum over the 40 regions of |the model's need share - the "
                      "reference share|, in percentage points; lower is better. This is what moves money. "
                      "Reference: the synthetic truth (need from the true risks) on synthetic data; the "
                      "observed share of vsv per region (observed against expected) on real data, which also "
                      "holds chance and regional effects no model of characteristics should follow."),
    "difference": ("difference (A - B)", "Model A's value minus model B's on the same persons, with a 95% "
                   "interval that uses the pairing. Detectable: the interval excludes 0."),
}
#: Readable names of the sectors.
SECTOR_LABELS = {"vo": "vo (secondary)", "mbo": "mbo (vocational)", "vavo": "vavo (adult general)",
                 "all": "all pupils"}
_DIFFERENCE_COLUMNS = ["model_a", "model_b", "sector", "measure", "a", "b", "difference", "low", "high",
                       "detectable", "better"]
#: Measures whose lower value is better.
_LOWER_IS_BETTER = {"brier", "log_loss", "need_distance"}


@dataclass
class ModelComparison:
    """Models compared on the same persons; every table is an aggregate.

    Attributes
    ----------
    models : list of str
        The names, in the order given.
    scores : DataFrame
        One row per model and sector: ``model``, ``sector``, ``n``, ``events``, ``roc_auc``,
        ``brier``, ``log_loss``, ``calibration_slope``, ``calibration_intercept``.
    differences : DataFrame
        One row per pair, sector and measure: ``model_a``, ``model_b``, ``sector``, ``measure``,
        ``a``, ``b``, ``difference`` (A - B), ``low``, ``high``, ``detectable``, ``better``
        (the better model's name where detectable, else empty).
    need : DataFrame
        One row per model: ``model``, ``need_distance``, ``low``, ``high`` (all pupils).
    reference : str
        ``truth`` (synthetic) or ``observed`` (real data): what the need shares are held against.
    sentences : list of str
        One per pair: which model is better on what, or that no difference is detectable.
    settings : dict
        ``level``, ``n_boot``, ``seed``.
    """

    models: list[str]
    scores: pd.DataFrame
    differences: pd.DataFrame
    need: pd.DataFrame
    reference: str
    sentences: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def _comparable_sectors(frame: pd.DataFrame, y: np.ndarray) -> dict[str, np.ndarray]:
    # A sector needs both outcomes for AUC and calibration; one without is left out, not guessed.
    return {name: mask for name, mask in _sector_masks(frame).items() if 0 < y[mask].sum() < mask.sum()}


def _row(a: str, b: str, sector: str, measure: str, result: dict, a_value: float, b_value: float) -> dict:
    detectable = not (result["low"] <= 0 <= result["high"])
    better = ""
    if detectable:
        a_better = (result["difference"] < 0) if measure in _LOWER_IS_BETTER else (result["difference"] > 0)
        better = a if a_better else b
    return {"model_a": a, "model_b": b, "sector": sector, "measure": measure, "a": a_value, "b": b_value,
            "difference": result["difference"], "low": result["low"], "high": result["high"],
            "detectable": detectable, "better": better}


def compare_predictions(frame: pd.DataFrame, predictions: Mapping[str, np.ndarray], *, n_boot: int = 1000,
                        seed: int = 0, level: float = 0.95) -> ModelComparison:
    """Compare the predictions of two or more models for the same persons.

    Parameters
    ----------
    frame : DataFrame
        The evaluation cohort: ``vsv``, ``sector``, ``region_code``; with ``p_true_features``
        (a synthetic population) the need shares are held against the truth.
    predictions : mapping of name -> array
        Each model's predicted risks, in the row order of ``frame``. One model alone gets its
        scores and need-share distance, and no pairs.
    n_boot : int, default=1000
        Bootstrap replicates for the need-share distance.
    seed : int, default=0
        Seed of the bootstrap: same inputs and seed, same numbers.
    level : float, default=0.95
        Coverage of every interval.

    Returns
    -------
    ModelComparison

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> frame = generate(20_000, seed=3).frame
    >>> noisy = (frame["p_true_features"] * np.random.default_rng(0).uniform(0.5, 1.5, len(frame))).clip(upper=1)
    >>> result = compare_predictions(frame, {"truth": frame["p_true_features"], "noisy": noisy}, n_boot=100)
    >>> result.reference, float(result.need.set_index("model").loc["truth", "need_distance"])
    ('truth', 0.0)
    """
    from vsvrisk.exceptions import ConfigError

    names = list(predictions)
    if not names:
        raise ConfigError("a comparison needs the predictions of at least one model (two to compare)")
    values = {name: np.asarray(predictions[name], dtype=float) for name in names}
    for name, p in values.items():
        if p.shape != (len(frame),):
            raise ConfigError(f"predictions of '{name}': {p.shape[0] if p.ndim else 0} values for {len(frame)} persons")
    y = frame["vsv"].to_numpy(dtype=float)
    masks = _comparable_sectors(frame, y)
    losses = {name: person_losses(y, p) for name, p in values.items()}
    scores = []
    for sector, mask in masks.items():
        for name, p in values.items():
            metrics = classification_metrics(y[mask], p[mask])
            scores.append({"model": name, "sector": sector, "n": int(mask.sum()), "events": int(y[mask].sum()),
                           **{key: metrics[key] for key in ("roc_auc", "brier", "log_loss", "calibration_slope",
                                                            "calibration_intercept")}})
    scores = pd.DataFrame(scores)
    reference = "truth" if "p_true_features" in frame else "observed"
    target = frame["p_true_features"].to_numpy(dtype=float) if reference == "truth" else y
    need = need_distance_bootstrap(frame["region_code"].to_numpy(), values, target, n_boot=n_boot, seed=seed,
                                   level=level)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for sector, mask in masks.items():
                auc = delong_auc_difference(y[mask], values[a][mask], values[b][mask], level=level)
                rows.append(_row(a, b, sector, "roc_auc", auc, auc["auc_a"], auc["auc_b"]))
                for measure in ("brier", "log_loss"):
                    paired = paired_mean_difference(losses[a][measure][mask], losses[b][measure][mask], level=level)
                    rows.append(_row(a, b, sector, measure, paired, paired["a"], paired["b"]))
            rows.append(_row(a, b, "all", "need_distance", need["differences"][(a, b)],
                             need["distance"][a], need["distance"][b]))
    differences = pd.DataFrame(rows, columns=_DIFFERENCE_COLUMNS)  # columns even when one model has no pair
    need_table = pd.DataFrame([{"model": name, "need_distance": need["distance"][name],
                                "low": need["interval"][name][0], "high": need["interval"][name][1]}
                               for name in names])
    sentences = [pair_sentence(differences, a, b, reference)
                 for i, a in enumerate(names) for b in names[i + 1:]]
    return ModelComparison(names, scores, differences, need_table, reference, sentences,
                           {"level": level, "n_boot": n_boot, "seed": seed})


def _format(measure: str, value: float) -> str:
    if measure == "need_distance":
        return f"{100 * value:.2f} pp"
    return f"{value:+.4f}"


def _sectors(rows: pd.DataFrame, numbers: bool) -> str:
    # The number is the better model's advantage, so it reads with the sentence: "+0.0041".
    named = [("over all pupils" if row.sector == "all" else row.sector)
             + (f" ({_format(row.measure, abs(row.difference))})" if numbers else "") for row in rows.itertuples()]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def pair_sentence(differences: pd.DataFrame, a: str, b: str, reference: str = "truth") -> str:
    """One sentence on a pair: who is better on what (with the evidence), or that nothing is detectable.

    Examples
    --------
    >>> table = pd.DataFrame([{"model_a": "x", "model_b": "y", "sector": "vo", "measure": "roc_auc",
    ...     "difference": 0.01, "low": 0.005, "high": 0.015, "detectable": True, "better": "x"}])
    >>> pair_sentence(table, "x", "y")
    'x against y: x ranks better in vo (+0.0100); no detectable difference in Brier score, log loss or need shares.'
    """
    pair = differences[(differences["model_a"] == a) & (differences["model_b"] == b)]
    found = pair[pair["detectable"]]
    if found.empty:
        return f"{a} against {b}: no detectable difference (AUC, Brier score, log loss, need shares)."
    clauses = []
    for winner in (a, b):
        wins = found[found["better"] == winner]
        parts = []
        for measure, words in (("roc_auc", "ranks better in"), ("brier", "has the lower Brier score in"),
                               ("log_loss", "has the lower log loss in")):
            rows = wins[wins["measure"] == measure]
            if not rows.empty:
                parts.append(f"{words} {_sectors(rows, numbers=measure == 'roc_auc')}".replace("in over", "over"))
        for row in wins[wins["measure"] == "need_distance"].itertuples():
            target = "the truth" if reference == "truth" else "the observed vsv"
            low, high = sorted((abs(row.low), abs(row.high))) if row.low * row.high > 0 else (0.0, abs(row.low))
            parts.append(f"has need shares {_format(row.measure, abs(row.difference))} closer to {target} "
                         f"(95% interval {100 * low:.2f} to {100 * high:.2f} pp)")
        if parts:
            clauses.append(f"{winner} " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1])
    quiet = [label for measure, label in (("roc_auc", "AUC"), ("brier", "Brier score"), ("log_loss", "log loss"),
                                          ("need_distance", "need shares"))
             if not (found["measure"] == measure).any()]
    text = f"{a} against {b}: " + "; ".join(clauses)
    if quiet:
        text += f"; no detectable difference in {', '.join(quiet[:-1]) + ' or ' if len(quiet) > 1 else ''}{quiet[-1]}"
    return text + "."
