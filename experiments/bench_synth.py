"""Benchmark: draw a national-size synthetic cohort (1.5 million persons) and write it.

Prints wall seconds and peak memory: the process's peak resident set size (which also counts
the interpreter and imported libraries, so it is an upper bound), measured without tracing
because tracemalloc slows pandas' many small allocations several-fold.
Target on the 2-core reference machine: under 30 s and under 2 GiB peak.

    .venv/bin/python experiments/bench_synth.py [--n-persons 1500000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

GIB = 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from vsvrisk.data import write_person_years
    from vsvrisk.synth import generate

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    population = generate(args.n_persons, school_years=[2019], seed=args.seed)
    generate_s = time.perf_counter() - start
    rss_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_person_years(population.frame, Path(folder) / "population.parquet")
        write_s = time.perf_counter() - start
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    frame_gib = population.frame.memory_usage(deep=True).sum() / GIB
    print(f"rows                       {len(population.frame):>12,}")
    print(f"generate                   {generate_s:>12.1f} s")
    print(f"write parquet              {write_s:>12.1f} s")
    print(f"frame in memory            {frame_gib:>12.2f} GiB")
    print(f"peak RSS after generate    {rss_generate / GIB:>12.2f} GiB (before: {rss_before / GIB:.2f})")
    print(f"peak RSS with the write    {rss_peak / GIB:>12.2f} GiB")


if __name__ == "__main__":
    main()
