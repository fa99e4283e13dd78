"""Benchmark: exact TreeSHAP by shared split patterns against raw ``pred_contrib``.

Fits a LightGBM model of a fixed size (default 300 trees x 63 leaves, no early stopping) on one
national-size synthetic cohort with the ``configs/lightgbm.yaml`` features (all rows, one
model), then times ``fast_pred_contrib`` on every row against raw
``booster.predict(X, pred_contrib=True)`` on a slice (scaled to all rows, and said so), and
checks that both agree on the slice.

    .venv/bin/python experiments/bench_fast_treeshap.py [--n-persons 1500000] [--trees 300] [--leaves 63]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=63)
    parser.add_argument("--raw-rows", type=int, default=50_000)
    args = parser.parse_args()

    import lightgbm
    import numpy as np

    from vsvrisk.explain.fast_treeshap import fast_pred_contrib
    from vsvrisk.features import build_feature_pipeline
    from vsvrisk.models import load_model_spec
    from vsvrisk.synth import generate

    spec = load_model_spec(Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml")
    frame = generate(args.n_persons, [2019], seed=1).frame
    X = build_feature_pipeline(spec.feature_spec("mbo")).fit_transform(frame)
    y = frame["vsv"].astype(int).to_numpy()
    start = time.perf_counter()
    params = {"objective": "binary", "num_leaves": args.leaves, "learning_rate": 0.05, "min_child_samples": 100,
              "verbose": -1, "deterministic": True, "force_row_wise": True}
    booster = lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=args.trees)
    print(f"rows {len(X):,}, features {X.shape[1]}; fit {args.trees} trees x {args.leaves} leaves: "
          f"{time.perf_counter() - start:.0f} s", flush=True)

    start = time.perf_counter()
    fast = fast_pred_contrib(booster, X)
    fast_s = time.perf_counter() - start
    k = min(args.raw_rows, len(X))
    start = time.perf_counter()
    raw = booster.predict(X.iloc[:k], pred_contrib=True)
    raw_s = (time.perf_counter() - start) * len(X) / k
    print(f"fast path, all rows           {fast_s:8.1f} s")
    print(f"raw pred_contrib, {k:,} rows scaled to all: {raw_s:8.1f} s ({1000 * raw_s / len(X):.2f} ms a row)")
    print(f"speed-up                      {raw_s / fast_s:8.1f}x  (target >= 15)")
    print(f"largest difference on the slice {np.abs(fast[:k] - raw).max():.2e}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
