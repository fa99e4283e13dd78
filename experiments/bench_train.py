"""Benchmark: the library's LightGBM training path against raw ``lightgbm.train``.

On one national-size synthetic cohort (1.5 million persons), times
``RiskModel.from_spec(configs/lightgbm.yaml).fit(frame)`` (features built from the
person-year table, a validation split, early stopping, one model per sector) against plain
``lightgbm.train`` with the same parameters, the same matrices, the same split and the same
early stopping, in one run. Target: ratio at most 1.3. Prints seconds and peak memory (the
latter from a second, traced fit).

    .venv/bin/python experiments/bench_train.py [--n-persons 1500000]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from pathlib import Path

from _reference import raw_lightgbm_fits  # experiments/: the script's own folder

GIB = 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from vsvrisk.models import RiskModel, load_model_spec
    from vsvrisk.synth import generate

    spec = load_model_spec(Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml")
    frame = generate(args.n_persons, school_years=[spec.data.train_year], seed=args.seed).frame
    print(f"rows {len(frame):,}; spec {spec.name}", flush=True)

    start = time.perf_counter()
    model = RiskModel.from_spec(spec).fit(frame)
    library_s = time.perf_counter() - start
    # Memory in a second fit: tracemalloc slows every allocation (pandas makes many), so it
    # must not be on while the time is taken.
    tracemalloc.start()
    RiskModel.from_spec(spec).fit(frame)
    _, library_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # The raw reference: the same matrices (built outside the timing), split, parameters and
    # early stopping, through lightgbm's own training API.
    raw_s, trees = 0.0, {}
    for group, _, booster, seconds in raw_lightgbm_fits(spec, frame, model.model_groups(frame)):
        raw_s += seconds
        trees[group] = (booster.best_iteration, model.learner_of(group).best_iteration_)

    print(f"library fit (features + split + LightGBM) {library_s:8.1f} s")
    print(f"raw lightgbm.train, same matrices         {raw_s:8.1f} s")
    print(f"ratio                                      {library_s / raw_s:8.2f}  (target <= 1.3)")
    print(f"best iteration raw / library per group    {trees}")
    print(f"peak traced memory of the library fit      {library_peak / GIB:8.2f} GiB")
    print(f"peak RSS of the process                    {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB:8.2f} GiB")


if __name__ == "__main__":
    main()
