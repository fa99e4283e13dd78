"""Expected euros per additional registered pupil, with the model and the rules fixed.

The risk to watch that the allocation report and the model card name: cheap and deterministic,
on the run's own cohort and allocation, with no refit and no random pick. For a region r and a
registration f (a problem flag among the model's predictors):

    eur_per_person[r, f] = lambda_r x mean over r's pupils without f of ( c(p with f) - c(p without f) )

- ``p with f`` is the model's prediction for the pupil with the flag set, everything else
  unchanged: one extra prediction per registration, of the pupils without it (a
  :class:`~vsvrisk.models.RiskModel` predicts each set of pupils that it cannot tell apart once
  registered once, :mod:`vsvrisk.models._flagged`: the same numbers);
- ``c`` is the pupil's contribution to need under the scenario: ``all``, the probability itself;
  ``top_share``, the probability where it lies above the national cut-off, with the cut-off
  fixed where the allocation put it (one more registered pupil does not move it), so a pupil
  adds need only once the registration lifts them over the cut-off or while they are above it;
- ``lambda_r`` is the rule's euros per unit of need (the allocation's lambda) where no limit
  binds, and 0 where a floor or the dampening band holds the region (its amount does not move).

This answers "what is one more registration worth, in expectation", for the allocation as made;
:func:`~vsvrisk.policy.registration_elasticity` answers another question ("the region registers
1 pp more": a seeded random pick, the budget split again, optionally a refit).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from vsvrisk.allocate.need import parse_scenario, top_share_cut
from vsvrisk.data.regions import REGION_CODES, regions
from vsvrisk.exceptions import ConfigError
from vsvrisk.models._flagged import FlagPredictor
from vsvrisk.policy.registration import REGISTRATIONS

__all__ = ["expected_registration_gain", "model_registrations"]

# Derived features that count the problem flags: a model using one of them uses every flag.
_COUNTS = {"problem_count", "multiproblematiek"}


def model_registrations(model) -> list[str]:
    """The registrations among a fitted model's predictors (directly, or through multiproblematiek).

    A model without ``selected_features_`` (not a :class:`~vsvrisk.models.RiskModel`) may use any
    of them: all are returned, and a registration that moves no prediction drops out later.

    Examples
    --------
    >>> class Fitted:
    ...     selected_features_ = {"vo": ["age_group", "psychosocial"], "mbo": ["crime_suspect", "psychosocial"]}
    >>> model_registrations(Fitted())
    ['psychosocial', 'crime_suspect']
    """
    used = getattr(model, "selected_features_", None)
    if used is None:
        return list(REGISTRATIONS)
    names = {name for group in used.values() for name in group}
    return list(REGISTRATIONS) if names & _COUNTS else [name for name in REGISTRATIONS if name in names]


def _contribution(scenario, baseline: np.ndarray):
    """``c(p)``: a pupil's part of need under the scenario, the top share's cut-off fixed at ``baseline``'s."""
    if scenario == "all":
        return lambda p: p
    ordered = np.sort(baseline)[::-1]
    first, _, fraction = top_share_cut(-ordered, np.arange(1, len(ordered) + 1, dtype=np.float64),
                                       scenario.top_share)
    cut = ordered[min(first, len(ordered) - 1)]
    # Ties at the cut-off count with the same fraction as in need_from_predictions.
    return lambda p: p * np.where(p > cut, 1.0, np.where(p == cut, fraction, 0.0))


def expected_registration_gain(cohort: pd.DataFrame, model, allocation: pd.DataFrame, *, scenario="all",
                               registrations: Iterable[str] | None = None, p=None,
                               lam: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expected euros a region gains per additional registered pupil, model and rules fixed.

    Parameters
    ----------
    cohort : DataFrame
        The scored cohort (person-year table) the allocation was made from.
    model : fitted estimator
        Anything with ``predict_risk`` (a :class:`~vsvrisk.models.RiskModel`).
    allocation : DataFrame
        The allocation of that cohort's need (:func:`vsvrisk.allocate.allocate`): one row per
        region in code order, with ``binding``; its ``attrs["lambda"]`` unless ``lam`` is given.
    scenario : "all" or mapping, default="all"
        The scenario the need was computed under.
    registrations : iterable of str, optional
        Default: those the model uses (:func:`model_registrations`); one that moves no
        prediction is left out.
    p : array of float, optional
        The model's predictions for ``cohort`` (saves one ``predict_risk``).
    lam : float, optional
        Euros per unit of need (default: ``allocation.attrs["lambda"]``).

    Returns
    -------
    table : DataFrame
        One row per region and registration: ``region_code``, ``region_name``, ``registration``,
        ``n_persons``, ``n_unregistered``, ``need_change_per_person`` (the mean rise in need),
        ``binding``, ``eur_per_person_fixed`` and ``eur_per_pp_fixed`` (per percentage point of
        the region's pupils). ``attrs["lambda"]``.
    national : DataFrame
        One row per registration: ``n_unregistered``, ``need_change_per_person`` and
        ``eur_per_person_fixed``, averaged over every pupil without the registration (each
        gaining for their own region).

    Examples
    --------
    >>> from vsvrisk.allocate import allocate, need_from_predictions
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> frame = generate(5_000, seed=2).frame
    >>> model = RiskModel("logistic", {"vo": ["psychosocial"], "mbo": ["psychosocial"]}).fit(frame)
    >>> p = model.predict_risk(frame).to_numpy()
    >>> allocation = allocate(need_from_predictions(frame.assign(p=p))["need"], {"budget_eur": 1_000_000})
    >>> table, national = expected_registration_gain(frame, model, allocation, p=p)
    >>> national["registration"].tolist(), bool((table["eur_per_person_fixed"] > 0).all())
    (['psychosocial'], True)
    """
    scenario = parse_scenario(scenario)
    names = model_registrations(model) if registrations is None else list(registrations)
    unknown = [name for name in names if name not in REGISTRATIONS]
    if unknown:
        raise ConfigError(f"registration '{unknown[0]}' is not one: use {', '.join(REGISTRATIONS)}")
    if len(allocation) != len(REGION_CODES) or "binding" not in allocation.columns:
        raise ConfigError("allocation: pass the table vsvrisk.allocate.allocate returns (40 regions, with binding)")
    lam = float(allocation.attrs["lambda"] if lam is None else lam)
    p = model.predict_risk(cohort).to_numpy() if p is None else np.asarray(p, dtype=float)
    contribution = _contribution(scenario, p)
    base = contribution(p)
    price = np.where(allocation["binding"].astype(str).to_numpy() == "none", lam, 0.0)
    codes = cohort["region_code"].to_numpy().astype(np.int64)
    counts = np.bincount(codes, minlength=len(REGION_CODES) + 1)[1:]
    tables = []
    predictor = FlagPredictor(model, cohort)
    for name in names:
        without = ~cohort[name].to_numpy(dtype=bool)
        if not without.any():
            continue
        rise = contribution(predictor.predict(name)[1]) - base[without]
        if not np.any(rise):  # the model does not use this registration
            continue
        n_without = np.bincount(codes[without], minlength=len(REGION_CODES) + 1)[1:]
        total = np.bincount(codes[without], weights=rise, minlength=len(REGION_CODES) + 1)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n_without > 0, total / n_without, np.nan)
        tables.append(pd.DataFrame({
            "region_code": list(REGION_CODES), "registration": name, "n_persons": counts, "n_unregistered": n_without,
            "need_change_per_person": mean, "binding": allocation["binding"].to_numpy(),
            "eur_per_person_fixed": price * mean, "eur_per_pp_fixed": price * mean * counts / 100}))
    columns = ["region_code", "registration", "n_persons", "n_unregistered", "need_change_per_person", "binding",
               "eur_per_person_fixed", "eur_per_pp_fixed"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    table.insert(1, "region_name", table["region_code"].map(regions().set_index("region_code")["region_name"]))
    table.attrs["lambda"] = lam
    return table, _national(table)


def _national(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, block in table.groupby("registration", sort=False):
        weights = block["n_unregistered"].to_numpy(dtype=float)
        rows.append({"registration": name, "n_unregistered": int(weights.sum()),
                     **{column: float(np.nansum(block[column].to_numpy(dtype=float) * weights) / weights.sum())
                        for column in ("need_change_per_person", "eur_per_person_fixed")}})
    return pd.DataFrame(rows, columns=["registration", "n_unregistered", "need_change_per_person",
                                       "eur_per_person_fixed"])
