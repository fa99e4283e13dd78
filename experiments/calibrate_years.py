"""Calibrate the synthetic world's intercepts, year effects and 23-26 share to the published figures.

The covariates a synthetic cohort is drawn with do not depend on the school year or on the
intercepts, so one large draw serves every year: for each school year with published rates
(the code book's ``PUBLISHED_RATES``: 2018/19, 2019/20, 2023/24, 2024/25), solve the shift in
log-odds of the vo and the mbo model that makes the *expected* vsv rate (the mean true
probability, free of sampling noise) of vo and of mbo equal that year's figure. 2018/19 is the
reference: its shifts go into the intercepts, the other years' into the year effects. Then the
share of pupils aged 23-26 under the 2026 law is solved so that the wider population counts
``WIDER_DEFINITION_RATIO`` (about 1.28) times the new vsv'ers of the under-23 population.

Prints the constants to paste into ``vsvrisk/synth/truth.py`` (``_INTERCEPTS``,
``_YEAR_EFFECTS``) and ``vsvrisk/synth/population.py`` (``_OLDER_SHARE``), and the expected
rates before and after. Run it again after changing the truth's effects or the generator.

    .venv/bin/python experiments/calibrate_years.py [--n-persons 1500000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
from scipy.optimize import brentq


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=101)
    args = parser.parse_args()

    from vsvrisk.data.codes import DEFAULT_UPPER_AGE, PUBLISHED_RATES, WIDER_DEFINITION_RATIO
    from vsvrisk.data.schema import age_at_reference_date
    from vsvrisk.synth import default_truth, generate, published_rates
    from vsvrisk.synth import population as population_module

    start = time.perf_counter()
    truth = default_truth()
    flat = dataclasses.replace(truth, year_effects={g: {2018: 0.0} for g in truth.year_effects})
    frame = generate(args.n_persons, school_years=[2018], seed=args.seed, truth=flat).frame
    eta = flat.log_odds(frame)  # with the regional effects: the rates are of vsv itself
    sector = frame["sector"].astype(object).to_numpy()
    masks = {"vo": sector == "vo", "mbo": sector == "mbo"}
    groups = {"vo": sector == "vo", "mbo": sector != "vo"}

    def solve(target: float, key: str) -> float:
        rows = eta[masks[key]]
        return brentq(lambda shift: 100 * _sigmoid(rows + shift).mean() - target, -4, 4, xtol=1e-10)

    shifts = {}
    for year in sorted(PUBLISHED_RATES):
        rates, _ = published_rates(year)
        shifts[year] = {key: solve(rates[key], key) for key in ("vo", "mbo")}
    intercepts = {g: truth.intercepts[g] + shifts[2018][g] for g in ("vo", "mbo")}
    year_effects = {g: {year: shifts[year][g] - shifts[2018][g] for year in sorted(shifts)} for g in ("vo", "mbo")}
    print(f"drawn {args.n_persons:,} persons and solved in {time.perf_counter() - start:.1f} s")
    print("_INTERCEPTS = {" + ", ".join(f'"{g}": {v:.4f}' for g, v in intercepts.items()) + "}")
    print("_YEAR_EFFECTS = {")
    for g, table in year_effects.items():
        print(f'    "{g}": {{' + ", ".join(f"{y}: {v:.4f}" for y, v in table.items()) + "},")
    print("}")
    for year in sorted(shifts):
        p = _sigmoid(eta + np.where(groups["vo"], shifts[year]["vo"], shifts[year]["mbo"]))
        print(f"  {year}/{str(year + 1)[-2:]}: expected all {100 * p.mean():.3f}%, vo {100 * p[masks['vo']].mean():.3f}%, "
              f"mbo {100 * p[masks['mbo']].mean():.3f}% (target {published_rates(year)[0]})")

    # The 23-26 share: the under-23 part of a wider population is distributed as the default
    # population, so only the older pupils' expected rate is needed.
    calibrated = dataclasses.replace(truth, intercepts=intercepts, year_effects=year_effects)
    wide = generate(args.n_persons, school_years=[2024], seed=args.seed, truth=calibrated, upper_age=27).frame
    age = age_at_reference_date(wide["birth_date"], wide["school_year"]).to_numpy()
    older = age >= DEFAULT_UPPER_AGE
    rate_core, rate_older = wide["p_true"][~older].mean(), wide["p_true"][older].mean()
    odds = (WIDER_DEFINITION_RATIO - 1) * rate_core / rate_older  # older / core persons
    share = odds / (1 + odds)
    now = population_module._OLDER_SHARE
    print(f"_OLDER_SHARE = {share:.4f}  (now {now}; expected rate under 23 {100 * rate_core:.3f}%, "
          f"23-26 {100 * rate_older:.3f}%; ratio with the present share "
          f"{1 + now / (1 - now) * rate_older / rate_core:.3f})")


if __name__ == "__main__":
    main()
