"""The policy analyses on the demo's world: the figures of experiments/README.md (issue 17).

The demo's world: 200,000 persons per cohort, seed 1, fitted on 2018/19 and scoring 2019/20,
the model the demo picks (need shares closest to the truth), the rules of
``configs/allocation-2026.yaml`` (top 40% scenario, base 250,000, floor 400,000; no band in
the prevention and registration checks). Prints:

1. the prevention loss of Rijnmond (29), Agglomeratie Amsterdam (21) and Zuidoost-Brabant (37)
   when each in turn cuts its true vsv risk by a fifth, over five outcome draws, with the
   refit-free control (exactly 0);
2. the registration elasticities: national per registration, and the five largest per region
   (model fixed, rebalanced, and after a refit for those five);
3. the multi-year path 2026-2029 (cohorts 2019/20 ... 2022/23 of the same world) from the
   2018/19 allocation, at bands 2.5%, 5% and 10%, and again from the CBS replica's allocation
   (a change of model, as in 2023).

    .venv/bin/python experiments/policy_figures.py [--n-persons 200000] [--seeds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
REGIONS = (29, 21, 37)
BANDS = (0.025, 0.05, 0.10)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=5, help="outcome draws of the prevention check")
    parser.add_argument("--fraction", type=float, default=0.2)
    args = parser.parse_args()

    import pandas as pd

    from vsvrisk.allocate import allocate, load_allocation_config, need_from_predictions
    from vsvrisk.evaluate import evaluate_predictions
    from vsvrisk.models import RiskModel, load_model_spec
    from vsvrisk.policy import (allocation_path, needs_from_cohorts, prevention_check, registration_elasticity,
                                risks_to_watch)
    from vsvrisk.report import suppress_small_cells
    from vsvrisk.synth import generate

    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(f"load average at start: {_load()}", flush=True)
    start = time.perf_counter()
    years = [2018, 2019, 2020, 2021, 2022]
    frame = generate(args.n_persons, years, seed=args.seed).frame  # 2018/2019 are the demo's cohorts, bit for bit
    cohorts = {year: frame[frame["school_year"] == year].reset_index(drop=True) for year in years}
    del frame
    train, score = cohorts[2018], cohorts[2019]
    settings = load_allocation_config(CONFIGS / "allocation-2026.yaml")
    rules, scenario = settings.rules(), settings.scenario
    print(f"cohorts {years[0]}-{years[-1]}, {args.n_persons:,} each: {time.perf_counter() - start:.0f} s", flush=True)

    # The model the demo picks: the one whose need shares are closest to the truth.
    fitted, l1 = {}, {}
    for name in ("cbs-replica", "lightgbm"):
        spec = load_model_spec(CONFIGS / f"{name}.yaml")
        fitted[name] = RiskModel.from_spec(spec).fit(train)
        l1[name] = evaluate_predictions(score, fitted[name].predict_risk(score)).metrics["need_share_l1"]
    best = min(l1, key=l1.get)
    print(f"need L1 against the truth: {', '.join(f'{k} {100 * v:.2f} pp' for k, v in l1.items())}; the demo picks {best}",
          flush=True)
    model = fitted[best]

    # 1. Prevention.
    t = time.perf_counter()
    table, summary = prevention_check(score, RiskModel.from_spec(load_model_spec(CONFIGS / f"{best}.yaml")), rules,
                                      regions_preventing=REGIONS, fraction=args.fraction, seeds=range(args.seeds),
                                      scenario=scenario)
    seconds = time.perf_counter() - t
    control, control_summary = prevention_check(score, model, rules, regions_preventing=REGIONS, fraction=args.fraction,
                                                seeds=range(args.seeds), scenario=scenario, refit=False)
    print(f"\n1. prevention: each region cuts its expected vsv by {100 * args.fraction:g}%, model refitted on "
          f"2019/20, {args.seeds} outcome draws ({seconds:.0f} s, load {_load()})")
    print(summary[["region_name", "n_persons", "expected_vsv_before", "expected_vsv_after", "amount_before_eur",
                   "loss_eur", "loss_eur_sd", "loss_eur_low", "loss_eur_high", "loss_pct", "noise_eur_sd",
                   "largest_gain_region", "largest_gain_eur"]].round(2).to_string(index=False))
    print(f"refit-free control: largest |change| {control['change_eur'].abs().max()} euros")

    # 2. Registration.
    t = time.perf_counter()
    elasticity, national = registration_elasticity(score, model, rules, scenario=scenario)
    # As the report does: a region's row from fewer than 10 newly registered pupils is not shown.
    elasticity = pd.concat([suppress_small_cells(block, "n_changed", settings.disclosure_threshold)
                            for _, block in elasticity.groupby("registration", sort=False)])
    seconds = time.perf_counter() - t
    print(f"\n2. registration: each region alone registers 1 pp more ({seconds:.0f} s, load {_load()}); "
          f"lambda {elasticity.attrs['lambda']:,.0f} euros per unit of need")
    print(national.round(1).to_string(index=False))
    watch = risks_to_watch(elasticity, 5)
    if watch.empty:
        print("every region's row is from fewer than 10 newly registered pupils: no risks to watch at this size")
    else:
        t = time.perf_counter()
        pairs = list(watch[["region_code", "registration"]].itertuples(index=False, name=None))
        refitted, _ = registration_elasticity(score, model, rules, registrations=list(dict.fromkeys(watch["registration"])),
                                              regions_changed=list(dict.fromkeys(watch["region_code"])),
                                              scenario=scenario, refit_on=train, refit_pairs=pairs)
        refitted = refitted.dropna(subset=["eur_refit"]).sort_values("eur_per_person_fixed", ascending=False)
        print(f"the five largest (refits: {time.perf_counter() - t:.0f} s):")
        print(refitted[["region_name", "registration", "n_persons", "n_changed", "need_change", "eur_per_person_fixed",
                        "eur_per_person_rebalanced", "eur_per_person_refit", "eur_per_pp_fixed"]].round(1)
              .to_string(index=False))

    # 3. The path.
    t = time.perf_counter()
    needs = needs_from_cohorts(model, {2026 + k: cohorts[2019 + k] for k in range(4)}, scenario)
    starts = {"2018/19 allocation, same model": allocate(
        need_from_predictions(train.assign(p=model.predict_risk(train).to_numpy()), "p", scenario)["need"], rules)}
    other = "cbs-replica" if best != "cbs-replica" else "lightgbm"
    starts[f"2018/19 allocation by {other} (a change of model)"] = allocate(need_from_predictions(
        train.assign(p=fitted[other].predict_risk(train).to_numpy()), "p", scenario)["need"], rules)
    print(f"\n3. path 2026-2029 (cohorts 2019/20-2022/23), bands {', '.join(f'{100 * b:g}%' for b in BANDS)}, "
          f"reached = within 0.5% from then on")
    for label, first in starts.items():
        path = allocation_path(first, needs, rules, BANDS, tolerance_pct=0.5)
        print(f"from the {label}:")
        print(path.bands.to_string(index=False))
        slow = path.regions.sort_values(["band", "years_to_reach"], na_position="last").groupby("band").tail(3)
        print(slow[["band", "region_name", "reached_year", "largest_change_pct"]].to_string(index=False))
    print(f"path: {time.perf_counter() - t:.0f} s")
    print(f"\ntotal {time.perf_counter() - start:.0f} s wall, {time.process_time():.0f} s CPU of this process; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB; load average at end: {_load()}")


if __name__ == "__main__":
    main()
