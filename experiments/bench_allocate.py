"""Benchmark: allocation intervals from 1,000 bootstrap replicates over 1.5 million persons.

Times ``bootstrap_need`` (Poisson weights aggregated per region) and the rules on every
replicate (``allocation_intervals``), for both scenarios, on the predictions of a synthetic
national cohort (its true probabilities stand in for a model's). Target on the 2-core
reference machine: under 10 s. Prints seconds and peak memory.

    .venv/bin/python experiments/bench_allocate.py [--n-persons 1500000] [--replicates 1000]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

MIB = 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()

    from vsvrisk.allocate import AllocationRules, allocation_intervals, bootstrap_need
    from vsvrisk.synth import generate

    frame = generate(args.n_persons, school_years=[2019], seed=1).frame
    codes, p = frame["region_code"].to_numpy(), frame["p_true_features"].to_numpy()
    rules = AllocationRules(budget_eur=90_000_000, base_amount_eur=250_000, floor_eur=400_000)
    print(f"persons {len(p):,}; replicates {args.replicates}")
    for scenario in ("all", {"top_share": 0.4}):
        tracemalloc.start()
        start = time.perf_counter()
        replicates = bootstrap_need(codes, p, args.replicates, seed=2026, scenario=scenario)
        middle = time.perf_counter()
        allocation_intervals(replicates, rules)
        end = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"scenario {scenario!s:18} bootstrap {middle - start:6.1f} s   rules on every replicate "
              f"{end - middle:5.2f} s   total {end - start:6.1f} s   peak traced {peak / MIB:6.0f} MiB")
    print(f"peak RSS of the process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
