"""Money follows need, not paperwork? Euros a region gains per additional registered pupil.

Several predictors are registrations by a local body: youth care (``psychosocial``), the police
(``crime_suspect``, ``parent_crime_suspect``), debt counselling (``problem_debts``), the
municipality's benefits (``benefits_household``), specialised mental health care
(``parent_mental_health``). A region whose bodies register more of its pupils raises their
predicted risk, and so its need, without any pupil being at more risk. The elasticity says by
how much:

- a region's unregistered pupils are registered at random until its registered share rises by
  ``share_pp`` percentage points (:func:`register_more`; random, because which pupils a more
  active desk finds is unknown, and seeded);
- **model fixed**: the changed pupils are scored again by the same model. ``eur_fixed`` is the
  change in euros at the rule's price of need (lambda, euros per unit of need: what the rule
  pays for the extra need while the region is not held by a floor or band);
  ``eur_rebalanced`` is the change after the budget is split again (whole euros): the
  extra need also lowers lambda, so part of the gain is paid by the region itself and the rest
  by every other region;
- **after a refit** (``refit_on`` the training cohort): the region registers more in the
  training cohort as well, the model is refitted and learns that the registration predicts a
  little less (the newly registered pupils are no more at risk than before); ``eur_refit`` is
  what is left of the gain.

Dividing by the number of newly registered pupils gives euros per registered pupil; by the rise
in percentage points, euros per point. The national rows add the regions up, each region
registering more on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from vsvrisk.allocate import allocate, need_from_predictions
from vsvrisk.allocate.rules import _coerce_rules  # the one check of a rules mapping
from vsvrisk.data.regions import REGION_CODES, regions
from vsvrisk.exceptions import ConfigError
from vsvrisk.policy._registrations import REGISTRATIONS

__all__ = ["REGISTRATIONS", "register_more", "registration_elasticity", "risks_to_watch"]


def register_more(cohort: pd.DataFrame, region: int, registration: str, share_pp: float = 1.0,
                  seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Register more of a region's pupils: the registered share rises by ``share_pp`` points.

    ``round(share_pp / 100 x persons in the region)`` unregistered pupils of the region, drawn
    at random (seeded by ``seed``, the region and the registration), get the flag; all of them if
    fewer are left.

    Returns
    -------
    frame : DataFrame
        A copy of ``cohort`` with the flag set for the chosen pupils.
    changed : ndarray of bool
        Which rows changed.

    Examples
    --------
    >>> cohort = pd.DataFrame({"region_code": [1] * 200 + [2] * 100, "psychosocial": [False] * 300})
    >>> frame, changed = register_more(cohort, 1, "psychosocial", share_pp=1.0)
    >>> int(changed.sum()), int(frame.psychosocial.sum()), bool(frame.psychosocial[changed].all())
    (2, 2, True)
    """
    if registration not in REGISTRATIONS:
        raise ConfigError(f"'{registration}' is not a registration: use one of {', '.join(REGISTRATIONS)}")
    if not 0 < share_pp <= 100:
        raise ConfigError(f"share_pp must lie in (0, 100] percentage points, got {share_pp}")
    in_region = cohort["region_code"].to_numpy() == region
    flag = cohort[registration].to_numpy(dtype=bool)
    candidates = np.flatnonzero(in_region & ~flag)
    wanted = min(int(round(share_pp / 100 * in_region.sum())), candidates.size)
    rng = np.random.default_rng([seed, int(region), list(REGISTRATIONS).index(registration)])
    changed = np.zeros(len(cohort), dtype=bool)
    changed[rng.choice(candidates, size=wanted, replace=False)] = True
    frame = cohort.copy()
    frame[registration] = flag | changed
    return frame, changed


def _at_lambda(need: np.ndarray, base: pd.DataFrame, rules_base: float) -> np.ndarray:
    """Unrounded amounts at the base allocation's lambda and limits (the rule's price of need)."""
    upper = base["upper_eur"].fillna(np.inf).to_numpy()
    return np.clip(rules_base + base.attrs["lambda"] * need, base["lower_eur"].to_numpy(), upper)


def _refit_one(model, train, cohort, region, registration, share_pp, seed, scenario):
    """Need per region after a refit; ``region=None`` is the baseline refit (nothing changed)."""
    if region is not None:
        # The scored cohort gets the same newly registered pupils as with the model fixed, so
        # that the refit is the only difference between the two gains.
        train, _ = register_more(train, region, registration, share_pp, seed)
        cohort, _ = register_more(cohort, region, registration, share_pp, seed)
    refitted = clone(model).fit(train)
    scored = cohort.assign(p=refitted.predict_risk(cohort).to_numpy())
    return need_from_predictions(scored, "p", scenario)["need"].to_numpy()


def registration_elasticity(cohort: pd.DataFrame, model, rules, *, registrations: Iterable[str] | None = None,
                            share_pp: float = 1.0, scenario="all", seed: int = 0,
                            regions_changed: Iterable[int] | None = None, refit_on: pd.DataFrame | None = None,
                            refit_pairs: Iterable[tuple[int, str]] | None = None,
                            n_jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Euros a region gains when its registered share of a registration rises, per region and nationally.

    Parameters
    ----------
    cohort : DataFrame
        The scored cohort (person-year table).
    model : fitted estimator
        A fitted :class:`~vsvrisk.models.RiskModel` (anything with ``predict_risk``; with
        ``refit_on``, also ``fit``, and fitted on ``refit_on``).
    rules : AllocationRules or mapping
        The allocation rules, without a previous year (a band would hide the effect).
    registrations : iterable of str, optional
        Default: every key of :data:`REGISTRATIONS`.
    share_pp : float, default=1.0
        The rise of the region's registered share, in percentage points.
    scenario : "all" or mapping, default="all"
    seed : int, default=0
        Seed of the choice of pupils.
    regions_changed : iterable of int, optional
        The regions that register more (each on its own); default all 40.
    refit_on : DataFrame, optional
        The training cohort: also refit the model after the same rise in it (one fit per region
        and registration, plus one for the baseline).
    refit_pairs : iterable of (int, str), optional
        With ``refit_on``: the (region, registration) pairs to refit for (default: every region
        changed with every registration). A refit is a full model fit: pick the pairs that
        matter, e.g. those :func:`risks_to_watch` names.
    n_jobs : int, default=1
        Refits in parallel through joblib (each seeded: the result does not depend on it).

    Returns
    -------
    table : DataFrame
        One row per region and registration: ``region_code``, ``region_name``,
        ``registration``, ``n_persons``, ``n_registered`` (before), ``n_changed``, ``share_pp``
        (the rise reached), ``need_change``, ``eur_fixed``, ``eur_rebalanced`` and the same per
        registered pupil (``eur_per_person_*``) and per percentage point (``eur_per_pp_*``); with
        a refit also ``need_change_refit``, ``eur_refit`` and ``eur_per_person_refit`` (NaN for
        regions not refitted). ``attrs["lambda"]``: euros per unit of need.
    national : DataFrame
        One row per registration: the regions added up (``n_changed``, ``need_change``,
        ``eur_fixed``, ``eur_rebalanced``, ``eur_refit``) and the euros per registered pupil.

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.models import RiskModel
    >>> frame = generate(5_000, seed=2).frame
    >>> model = RiskModel("logistic", {"vo": ["psychosocial"], "mbo": ["psychosocial"]}).fit(frame)
    >>> table, national = registration_elasticity(frame, model, {"budget_eur": 1_000_000},
    ...                                            registrations=["psychosocial"], regions_changed=[29])
    >>> row = table.iloc[0]
    >>> bool(row.eur_fixed > row.eur_rebalanced > 0), round(float(row.eur_fixed / row.need_change / table.attrs["lambda"]), 9)
    (True, 1.0)
    """
    registrations = list(REGISTRATIONS if registrations is None else registrations)
    for name in registrations:
        if name not in REGISTRATIONS:
            raise ConfigError(f"registration '{name}' is not one: use {', '.join(REGISTRATIONS)}")
    changed_regions = list(REGION_CODES if regions_changed is None else dict.fromkeys(int(r) for r in regions_changed))
    if not set(changed_regions) <= set(REGION_CODES) or not changed_regions:
        raise ConfigError(f"regions must be codes 1..40, got {changed_regions}")
    rules = _coerce_rules(rules)
    base_amount = rules.base_amount_eur
    p = model.predict_risk(cohort).to_numpy()
    need = need_from_predictions(cohort.assign(p=p), "p", scenario)
    base = allocate(need["need"], rules)
    need_base = need["need"].to_numpy()
    at_lambda_base = _at_lambda(need_base, base, base_amount)

    rows = []
    for registration in registrations:
        # All regions' changes are disjoint, so one scoring of the union serves every region.
        changes = {r: register_more(cohort, r, registration, share_pp, seed)[1] for r in changed_regions}
        union = np.logical_or.reduce(list(changes.values()))
        p_more = p.copy()
        if union.any():
            rescored = cohort.loc[union].copy()
            rescored[registration] = True
            p_more[union] = model.predict_risk(rescored).to_numpy()
        for r in changed_regions:
            p_r = np.where(changes[r], p_more, p)
            need_r = need_from_predictions(cohort.assign(p=p_r), "p", scenario)["need"].to_numpy()
            after = allocate(pd.Series(need_r, index=REGION_CODES), rules)
            i = r - 1
            rows.append({"region_code": r, "registration": registration, "n_persons": int(need["n_persons"].iloc[i]),
                         "n_registered": int(cohort.loc[cohort["region_code"] == r, registration].sum()),
                         "n_changed": int(changes[r].sum()), "need_change": need_r[i] - need_base[i],
                         "eur_fixed": _at_lambda(need_r, base, base_amount)[i] - at_lambda_base[i],
                         "eur_rebalanced": int(after["amount_eur"].iloc[i] - base["amount_eur"].iloc[i])})
    table = pd.DataFrame(rows)
    names = regions().set_index("region_code")["region_name"]
    table.insert(1, "region_name", table["region_code"].map(names))
    table["share_pp"] = 100 * table["n_changed"] / table["n_persons"].where(table["n_persons"] > 0)
    if refit_on is not None:
        pairs = ([(r, name) for name in registrations for r in changed_regions] if refit_pairs is None
                 else [(int(r), str(name)) for r, name in refit_pairs])
        table = _add_refits(table, model, refit_on, cohort, rules, scenario, share_pp, seed, pairs, n_jobs)
    for kind in ("fixed", "rebalanced", *(("refit",) if refit_on is not None else ())):
        with np.errstate(divide="ignore", invalid="ignore"):
            table[f"eur_per_person_{kind}"] = table[f"eur_{kind}"] / table["n_changed"].where(table["n_changed"] > 0)
            table[f"eur_per_pp_{kind}"] = table[f"eur_{kind}"] / table["share_pp"].where(table["share_pp"] > 0)
    table.attrs["lambda"] = base.attrs["lambda"]
    return table, _national(table, refit_on is not None)


def _add_refits(table, model, train, cohort, rules, scenario, share_pp, seed, pairs, n_jobs):
    present = set(zip(table["region_code"], table["registration"]))
    missing = [pair for pair in pairs if pair not in present]
    if missing:
        raise ConfigError(f"refit_pairs: region {missing[0][0]} with '{missing[0][1]}' is not among the regions "
                          "and registrations changed")
    jobs = list(dict.fromkeys(pairs))
    # The baseline refit (nothing changed, last) takes the place of the given model, so that
    # both sides of the difference come from the same fitting procedure.
    needs = Parallel(n_jobs=n_jobs)(delayed(_refit_one)(model, train, cohort, r, name, share_pp, seed, scenario)
                                    for r, name in [*jobs, (None, None)])
    need_base = needs.pop()
    base = allocate(pd.Series(need_base, index=REGION_CODES), rules)
    refit = {}
    for (r, name), need_r in zip(jobs, needs):
        after = allocate(pd.Series(need_r, index=REGION_CODES), rules)
        refit[(r, name)] = (need_r[r - 1] - need_base[r - 1],
                            int(after["amount_eur"].iloc[r - 1] - base["amount_eur"].iloc[r - 1]))
    keys = list(zip(table["region_code"], table["registration"]))
    table["need_change_refit"] = [refit[k][0] if k in refit else np.nan for k in keys]
    table["eur_refit"] = [refit[k][1] if k in refit else np.nan for k in keys]
    return table


def _national(table: pd.DataFrame, refit: bool) -> pd.DataFrame:
    sums = ["n_changed", "need_change", "eur_fixed", "eur_rebalanced", *(("eur_refit",) if refit else ())]
    national = table.groupby("registration", sort=False)[sums].sum(min_count=1).reset_index()
    for kind in ("fixed", "rebalanced"):
        national[f"eur_per_person_{kind}"] = national[f"eur_{kind}"] / national["n_changed"].where(national["n_changed"] > 0)
    if refit:
        done = table[table["eur_refit"].notna()].groupby("registration", sort=False)
        national["eur_per_person_refit"] = national["registration"].map(done["eur_refit"].sum() / done["n_changed"].sum())
    return national


def risks_to_watch(table: pd.DataFrame, n: int = 5, *, column: str = "eur_per_person_fixed") -> pd.DataFrame:
    """The ``n`` largest registration elasticities: a risk to watch for the model card and report.

    Parameters
    ----------
    table : DataFrame
        The per-region table of :func:`registration_elasticity` (suppressed rows are skipped).
    n : int, default=5
    column : str, default="eur_per_person_fixed"
        The elasticity to rank by.

    Returns
    -------
    DataFrame
        ``region_code``, ``region_name``, ``registration``, ``who_registers``,
        ``eur_per_person`` and ``eur_per_pp`` (of ``column``'s kind), largest first; and
        ``eur_per_person_refit`` when the table has it.

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [29, 21], "region_name": ["Rijnmond", "Amsterdam"],
    ...                       "registration": ["psychosocial", "crime_suspect"],
    ...                       "eur_per_person_fixed": [900.0, 1200.0], "eur_per_pp_fixed": [4e4, 5e4]})
    >>> risks_to_watch(table, 1)[["region_name", "eur_per_person"]].to_dict("records")
    [{'region_name': 'Amsterdam', 'eur_per_person': 1200.0}]
    """
    kind = column.removeprefix("eur_per_person_")
    rows = table.dropna(subset=[column])
    if "suppressed" in rows.columns:
        rows = rows[~rows["suppressed"].fillna(False).astype(bool)]
    top = rows.sort_values([column, "region_code"], ascending=[False, True]).head(n)
    watch = pd.DataFrame({
        "region_code": top["region_code"].to_numpy(), "region_name": top["region_name"].to_numpy(),
        "registration": top["registration"].to_numpy(),
        "who_registers": top["registration"].map(REGISTRATIONS).to_numpy(),
        "eur_per_person": top[column].to_numpy(dtype=float), "eur_per_pp": top[f"eur_per_pp_{kind}"].to_numpy(dtype=float),
    })
    if "eur_per_person_refit" in top.columns:
        watch["eur_per_person_refit"] = top["eur_per_person_refit"].to_numpy(dtype=float)
    return watch
