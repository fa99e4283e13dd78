"""What a modelling choice does to the money: every region's share and amount, per alternative.

An impact config (``configs/impact.yaml``) names a baseline model spec, an allocation config and
a list of alternatives, each changing one choice: drop a feature, add one (migration background,
for an audit only), another model spec, or another need scenario. Every variant is fitted on the
same training cohort, scores the same cohort, and is allocated with the same rules; the result
is one long table (alternative x region) of shares, amounts and their change against the
baseline, and one chart. A scenario-only alternative reuses the baseline's fit.

The baseline is either the config's model spec, fitted here on the config's cohorts (a study),
or a model that already allocates (:class:`FittedBaseline`: a tracked run's model, its training
cohort and the cohort it scored), so that the baseline amounts are the allocation's own and
every alternative is a change to the model that decides the money. An alternative that is the
baseline itself (the same spec) is left out: it would offer the baseline as its own alternative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vsvrisk.audit._impact_config import Alternative, ImpactConfig, ImpactData, load_impact_config
from vsvrisk.config import validate_config
from vsvrisk.data.years import school_year_rows
from vsvrisk.exceptions import ConfigError

__all__ = ["Alternative", "FittedBaseline", "ImpactData", "ImpactConfig", "load_impact_config", "impact",
           "IMPACT_COLUMNS"]

IMPACT_COLUMNS = ("alternative", "region_code", "region_name", "n_persons", "share", "amount_eur",
                  "delta_share_pp", "delta_eur")


@dataclass
class FittedBaseline:
    """A model that already allocates, as the impact's baseline.

    Attributes
    ----------
    spec : ModelSpec
        Its spec: every alternative is a change to it.
    model : RiskModel
        The fitted model; its predictions are the baseline's need (no refit).
    train : DataFrame
        The cohort it was fitted on; the alternatives are fitted on it.
    cohort : DataFrame
        The cohort it scores (the allocation's).
    p : ndarray of float, optional
        The model's risks of ``cohort`` in its row order, when the caller has them (saves a
        prediction).
    known : callable, optional
        ``known(spec)``: the risks of ``cohort`` by a model of that spec fitted on ``train``
        that the caller has already (a training run of the same spec on the same cohort), or
        None; an alternative answered there is not fitted again.
    """

    spec: Any
    model: Any
    train: pd.DataFrame
    cohort: pd.DataFrame
    p: Any = None
    known: Any = None


def _same_spec(a, b) -> bool:
    return a.fit_key() == b.fit_key()


def _variant_spec(baseline, alternative: Alternative):
    from vsvrisk.models import load_model_spec

    spec = load_model_spec(alternative.model) if alternative.model is not None else baseline
    values = spec.model_dump(mode="json")
    values["data"] = baseline.model_dump(mode="json")["data"]  # every variant on the same cohorts
    # One config serves every baseline: a characteristic may be a feature in more than one form
    # (wealth_percentile in LightGBM, wealth_group in the CBS replica), so the forms a model does
    # not have are passed over; listing none that it has is an error.
    present = [n for n in alternative.drop_features if any(n in fs for fs in values["features"].values())]
    if alternative.drop_features and not present:
        raise ConfigError(f"alternative '{alternative.name}': drop_features: none of "
                          f"{', '.join(alternative.drop_features)} is a feature of the model")
    for name in present:
        values["features"] = {g: [f for f in features if f != name] for g, features in values["features"].items()}
    for name in alternative.add_features:
        values["features"] = {g: features + [name] if name not in features else features
                              for g, features in values["features"].items()}
        if name in values["excluded_features"]:
            values["allow_excluded"] = True  # an audit-only model, never one that allocates
    return validate_config(values, type(baseline), source=f"alternative '{alternative.name}'")


def _fit_and_score(spec, train: pd.DataFrame, cohort: pd.DataFrame):
    """One variant's model fitted on the training cohort, and its risks on the scored cohort."""
    from vsvrisk.models import RiskModel

    return RiskModel.from_spec(spec).fit(train).predict_risk(cohort).to_numpy()


def impact(config, *, progress=None, baseline: FittedBaseline | None = None) -> pd.DataFrame:
    """Every region's share and amount under the baseline and each alternative.

    Parameters
    ----------
    config : path, dict or ImpactConfig
        The impact config (``configs/impact.yaml``).
    progress : callable, optional
        Called with a short description before each step.
    baseline : FittedBaseline, optional
        A fitted model, its training cohort and the cohort it scores: the baseline instead of
        the config's ``model`` and ``data`` (which are then not used).

    Returns
    -------
    DataFrame
        Long, one row per alternative (``baseline`` first) and region: ``alternative``,
        ``region_code``, ``region_name``, ``n_persons`` (in the scored cohort), ``share`` (of
        need), ``amount_eur``, ``delta_share_pp`` (percentage points) and ``delta_eur`` against
        the baseline. Small cells are suppressed as in the allocation. ``attrs["specs"]`` holds
        each alternative's spec (name, learner) and ``attrs["skipped"]`` the alternatives left
        out because they are the baseline itself.
    """
    from joblib import Parallel, delayed

    from vsvrisk.allocate import allocate, load_allocation_config, need_from_predictions, read_previous_allocation
    from vsvrisk.cohorts import load_training_data
    from vsvrisk.models import load_model_spec
    from vsvrisk.report import suppress_small_cells

    step = progress or (lambda message: None)
    settings = load_impact_config(config)
    rules = load_allocation_config(settings.allocation)
    previous = read_previous_allocation(rules.previous) if rules.previous is not None else None
    if baseline is not None:
        base_spec = baseline.spec
    else:
        base_spec = load_model_spec(settings.model)
        base_spec = base_spec.model_copy(update={"data": base_spec.data.model_copy(update={
            "synthetic_n_persons": settings.data.synthetic_n_persons, "synthetic_seed": settings.data.synthetic_seed})})
    variants = [("baseline", base_spec, rules.scenario)]  # every spec checked before any work is done
    skipped = []
    for a in settings.alternatives:
        spec = _variant_spec(base_spec, a)
        if a.scenario is None and _same_spec(spec, base_spec):
            skipped.append(a.name)
            continue
        variants.append((a.name, spec, a.scenario or rules.scenario))
    if baseline is not None:
        train, cohort = baseline.train, baseline.cohort.reset_index(drop=True)
    else:
        step("reading the data" if settings.data.path else "drawing the synthetic population")
        frame, _ = load_training_data(base_spec, settings.data.path)
        train = school_year_rows(frame, base_spec.data.train_year)
        cohort = school_year_rows(frame, base_spec.data.eval_year).reset_index(drop=True)
    if train is None or train.empty or cohort.empty:
        raise ConfigError(f"impact: the data need both school years {base_spec.data.train_year} (fit) and "
                          f"{base_spec.data.eval_year} (scored): change the baseline spec's data section")

    keys = [json.dumps(spec.model_dump(mode="json", exclude={"name", "description"}), sort_keys=True)
            for _, spec, _ in variants]
    fitted = {}
    if baseline is not None:  # the allocating model's own predictions: the baseline is the allocation
        if baseline.p is not None:
            fitted[keys[0]] = baseline.p
        else:
            step("scoring the cohort with the baseline model")
            fitted[keys[0]] = baseline.model.predict_risk(cohort).to_numpy()
    to_fit = {}  # one fit per distinct spec: a scenario-only alternative reuses the fit it shares
    for (name, spec, _), key in zip(variants, keys):
        if key not in fitted and baseline is not None and baseline.known is not None:
            risks = baseline.known(spec)  # fitted already, on the same cohort, by the caller
            if risks is not None:
                fitted[key] = np.asarray(risks, dtype=float)
        if key not in fitted:
            to_fit.setdefault(key, (name, spec))
    # Through joblib: processes here, a cluster where the caller configured one; every fit is
    # seeded by its spec, so the results do not depend on what runs them.
    if to_fit:
        step(f"fitting {', '.join(name for name, _ in to_fit.values())}")
        fits = Parallel(n_jobs=settings.n_jobs, return_as="generator")(
            delayed(_fit_and_score)(spec, train, cohort) for _, spec in to_fit.values())
        for done, ((key, (name, spec)), p) in enumerate(zip(to_fit.items(), fits), start=1):
            fitted[key] = p
            step(f"fitted {name} ({spec.learner}); {done} of {len(to_fit)}")
    tables = []
    for (name, spec, scenario), key in zip(variants, keys):
        need = need_from_predictions(cohort.assign(p=fitted[key]), "p", scenario)
        allocation = allocate(need["need"], rules.rules(), previous)
        tables.append(allocation[["region_code", "region_name", "share", "amount_eur"]]
                      .assign(alternative=name, n_persons=need["n_persons"].to_numpy()))
    table = pd.concat(tables, ignore_index=True)
    base = table[table["alternative"] == "baseline"].set_index("region_code")
    table["delta_share_pp"] = 100 * (table["share"] - table["region_code"].map(base["share"]))
    table["delta_eur"] = table["amount_eur"] - table["region_code"].map(base["amount_eur"])
    table = table[list(IMPACT_COLUMNS)]
    blocks = [suppress_small_cells(block, threshold=rules.disclosure_threshold)
              for _, block in table.groupby("alternative", sort=False)]
    result = pd.concat(blocks, ignore_index=True)
    result.attrs["specs"] = {name: {"name": spec.name, "learner": spec.learner} for name, spec, _ in variants}
    result.attrs["skipped"] = skipped
    return result
