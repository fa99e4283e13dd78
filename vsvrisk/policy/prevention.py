"""Does a region that prevents dropout keep its money? The prevention check on a synthetic world.

Need follows *predicted* dropout, so within one year a region's prevention cannot cost it money:
its pupils' characteristics, not its outcomes, decide its need. But the model is refitted on
newer cohorts, and a region whose dropout falls pulls down the fitted effects of the
characteristics its pupils share; in the next allocation those pupils weigh less. The check
measures that on a world whose truth is known:

1. In the newer cohort, the preventing region's true log-odds are shifted down by one amount
   (the same odds ratio for every pupil, as a programme that works for everyone would), solved
   so that its expected number of vsv'ers falls by exactly ``fraction``
   (:func:`prevented_risk`).
2. Outcomes are drawn twice from the same uniform numbers, once from the old and once from the
   new truth (common random numbers): the two cohorts differ only where prevention worked, so
   the difference in euros is the effect, not noise.
3. The model is refitted on each cohort as the ministry would, scores the cohort to allocate,
   and the rules split the budget; before minus after is each region's loss.
4. Repeated over seeds (new outcome draws), so that the effect (the mean loss) can be told
   apart from what sampling alone moves (the spread of a region's amount over seeds).

A model that is not refitted (``refit=False``) gives a loss of exactly 0: the promise holds for
as long as the model is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.base import clone

from vsvrisk.allocate import allocate, need_from_predictions
from vsvrisk.data.regions import REGION_CODES, regions
from vsvrisk.exceptions import ConfigError

__all__ = ["prevented_risk", "prevention_check", "PREVENTION_COLUMNS", "SUMMARY_COLUMNS"]

#: Columns of the long table: one row per seed, preventing region and region.
PREVENTION_COLUMNS = ("seed", "preventing_region", "region_code", "region_name", "amount_before_eur",
                      "amount_after_eur", "change_eur", "change_pct")
#: Columns of the summary: one row per preventing region.
SUMMARY_COLUMNS = ("preventing_region", "region_name", "fraction", "n_persons", "expected_vsv_before",
                   "expected_vsv_after", "observed_vsv_before", "observed_vsv_after", "amount_before_eur",
                   "loss_eur", "loss_eur_sd", "loss_eur_low", "loss_eur_high", "loss_pct", "noise_eur_sd",
                   "largest_gain_region", "largest_gain_eur", "n_seeds")


def prevented_risk(p_true, in_region, fraction: float) -> tuple[np.ndarray, float]:
    """The true risk after a region cuts its expected vsv by ``fraction``, by one log-odds shift.

    Parameters
    ----------
    p_true : array of float
        Every person's true probability of vsv.
    in_region : array of bool
        The persons of the preventing region.
    fraction : float
        In [0, 1): the share of the region's expected vsv'ers that prevention removes.

    Returns
    -------
    p : ndarray
        ``p_true`` with the region's log-odds shifted by ``shift`` (the rest unchanged).
    shift : float
        The shift in log-odds (<= 0), solved so that the region's expected vsv is exactly
        ``(1 - fraction)`` times what it was.

    Examples
    --------
    >>> p = np.array([0.02, 0.10, 0.30, 0.05])
    >>> after, shift = prevented_risk(p, np.array([True, True, True, False]), 0.25)
    >>> round(float(after[:3].sum() / p[:3].sum()), 12), float(after[3]), shift < 0
    (0.75, 0.05, True)
    """
    p_true = np.asarray(p_true, dtype=float)
    in_region = np.asarray(in_region, dtype=bool)
    if not 0 <= fraction < 1:
        raise ConfigError(f"fraction must lie in [0, 1) (0.2 = a fifth fewer vsv'ers), got {fraction}")
    if fraction == 0 or not in_region.any():
        return p_true.copy(), 0.0
    eta = logit(np.clip(p_true[in_region], 1e-15, 1 - 1e-15))
    target = (1 - fraction) * p_true[in_region].sum()
    shift = brentq(lambda s: expit(eta + s).sum() - target, -60.0, 0.0, xtol=1e-14, rtol=1e-15)
    after = p_true.copy()
    after[in_region] = expit(eta + shift)
    return after, float(shift)


def _amounts(model, train: pd.DataFrame, vsv: np.ndarray, score: pd.DataFrame, rules, scenario,
             refit: bool) -> np.ndarray:
    """Refit (or keep) the model, score the cohort, allocate: whole euros per region."""
    fitted = clone(model).fit(train.assign(vsv=vsv)) if refit else model
    need = need_from_predictions(score.assign(p=fitted.predict_risk(score).to_numpy()), "p", scenario)
    return allocate(need["need"], rules)["amount_eur"].to_numpy()


def _check(cohort: pd.DataFrame, preventing) -> list[int]:
    if "p_true" not in cohort.columns:
        raise ConfigError("prevention check: the cohort has no column 'p_true' (the true risk): "
                          "run it on a synthetic population (vsvrisk.synth.generate)")
    codes = [int(code) for code in preventing]
    unknown = [code for code in codes if code not in REGION_CODES]
    if unknown or not codes:
        raise ConfigError(f"prevention check: regions must be codes 1..40, got {codes or 'none'}")
    return list(dict.fromkeys(codes))


def prevention_check(cohort: pd.DataFrame, model, rules, *, regions_preventing=(29,), fraction: float = 0.2,
                     seeds=(0, 1, 2), scenario="all", score: pd.DataFrame | None = None, refit: bool = True,
                     n_jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each region's euros before and after one region prevents dropout, over several seeds.

    Parameters
    ----------
    cohort : DataFrame
        The newer cohort (a synthetic person-year table with ``p_true``): prevention happens
        here, and the model is refitted on it.
    model : estimator
        A :class:`~vsvrisk.models.RiskModel` (or any estimator with ``fit`` and
        ``predict_risk``). With ``refit=True`` it is cloned and refitted on every outcome draw;
        with ``refit=False`` it must be fitted and is used as it is.
    rules : AllocationRules or mapping
        The allocation rules (without a dampening band, which would hide the effect).
    regions_preventing : iterable of int, default=(29,)
        The regions that prevent, each in turn (alone).
    fraction : float, default=0.2
        The share of the region's expected vsv'ers that prevention removes.
    seeds : iterable of int, default=(0, 1, 2)
        One outcome draw per seed.
    scenario : "all" or mapping, default="all"
        The need scenario (see :func:`vsvrisk.allocate.need_from_predictions`).
    score : DataFrame, optional
        The cohort the refitted model scores for the allocation; default: ``cohort`` itself
        (prevention changes outcomes, not the characteristics that are scored).
    refit : bool, default=True
        Refit the model on the drawn outcomes (as the ministry does with a newer cohort).
    n_jobs : int, default=1
        Refits run in parallel through joblib (each refit is seeded, so the result does not
        depend on ``n_jobs``).

    Returns
    -------
    table : DataFrame
        Long, columns :data:`PREVENTION_COLUMNS`: every region's amount before and after, per
        seed and preventing region.
    summary : DataFrame
        One row per preventing region, columns :data:`SUMMARY_COLUMNS`: expected and observed
        vsv'ers in the region before and after (means over seeds), its loss in euros (mean,
        standard deviation, smallest and largest over seeds) and as a percentage of its amount,
        ``noise_eur_sd`` (how much its amount moves over seeds without prevention: sampling
        alone), and the region that gains most.

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.models import RiskModel
    >>> frame = generate(5_000, seed=2).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"], "mbo": ["mbo_level"]}).fit(frame)
    >>> table, summary = prevention_check(frame, model, {"budget_eur": 1_000_000}, refit=False, seeds=[0])
    >>> int(summary.loc[0, "loss_eur"]), bool(summary.loc[0, "observed_vsv_after"] <= summary.loc[0, "observed_vsv_before"])
    (0, True)
    """
    preventing = _check(cohort, regions_preventing)
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ConfigError("prevention check: give at least one seed")
    score = cohort if score is None else score
    p_true = cohort["p_true"].to_numpy(dtype=float)
    codes = cohort["region_code"].to_numpy()
    prevented = {code: prevented_risk(p_true, codes == code, fraction)[0] for code in preventing}
    draws = {seed: np.random.default_rng([seed, 17]).random(len(cohort)) for seed in seeds}
    jobs = [(seed, None) for seed in seeds] + [(seed, code) for seed in seeds for code in preventing]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_amounts)(model, cohort, draws[seed] < (p_true if code is None else prevented[code]), score,
                          rules, scenario, refit)
        for seed, code in jobs)
    amounts = dict(zip(jobs, results))

    names = regions().set_index("region_code")["region_name"]
    rows = []
    for seed in seeds:
        before = amounts[(seed, None)]
        for code in preventing:
            after = amounts[(seed, code)]
            rows.append(pd.DataFrame({
                "seed": seed, "preventing_region": code, "region_code": REGION_CODES,
                "region_name": names.loc[list(REGION_CODES)].to_numpy(), "amount_before_eur": before,
                "amount_after_eur": after, "change_eur": after - before,
                "change_pct": 100 * (after - before) / np.where(before > 0, before, np.nan)}))
    table = pd.concat(rows, ignore_index=True)[list(PREVENTION_COLUMNS)]
    summary = pd.DataFrame([_summarise(table, code, names, fraction, p_true, prevented[code], codes, draws,
                                       len(seeds)) for code in preventing])
    return table, summary[list(SUMMARY_COLUMNS)]


def _summarise(table, code, names, fraction, p_true, p_after, codes, draws, n_seeds) -> dict:
    rows = table[table["preventing_region"] == code]
    own = rows[rows["region_code"] == code]
    loss = -own["change_eur"].to_numpy(dtype=float)
    others = rows[rows["region_code"] != code].groupby("region_code")["change_eur"].mean()
    winner = int(others.idxmax())
    mine = codes == code
    observed_before = np.mean([(draw[mine] < p_true[mine]).sum() for draw in draws.values()])
    observed_after = np.mean([(draw[mine] < p_after[mine]).sum() for draw in draws.values()])
    before = own["amount_before_eur"].to_numpy(dtype=float)
    return {
        "preventing_region": code, "region_name": names.loc[code], "fraction": fraction,
        "n_persons": int(mine.sum()), "expected_vsv_before": float(p_true[mine].sum()),
        "expected_vsv_after": float(p_after[mine].sum()), "observed_vsv_before": float(observed_before),
        "observed_vsv_after": float(observed_after), "amount_before_eur": float(before.mean()),
        "loss_eur": float(loss.mean()), "loss_eur_sd": float(loss.std(ddof=1)) if n_seeds > 1 else np.nan,
        "loss_eur_low": float(loss.min()), "loss_eur_high": float(loss.max()),
        "loss_pct": float(100 * loss.mean() / before.mean()) if before.mean() > 0 else np.nan,
        "noise_eur_sd": float(before.std(ddof=1)) if n_seeds > 1 else np.nan,
        "largest_gain_region": names.loc[winner], "largest_gain_eur": float(others.loc[winner]),
        "n_seeds": n_seeds,
    }
