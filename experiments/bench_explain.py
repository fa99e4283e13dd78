"""Benchmark: the library's SHAP values against raw ``booster.predict(X, pred_contrib=True)``.

On one national-size synthetic cohort (1.5 million persons), fits ``configs/lightgbm.yaml``
and then, in one run:

1. times :func:`vsvrisk.explain.shap_values` (features built from the person-year rows, TreeSHAP
   per sector, columns grouped to variables) against plain ``booster.predict(matrix,
   pred_contrib=True)`` on the same 100,000 rows, with the matrices built outside the timing.
   The two are timed in halves in the order library, raw, raw, library (ABBA), so that a
   steady change in the machine's load falls on both. Target: ratio at most 1.2.
2. measures the peak memory of :func:`vsvrisk.explain.aggregate_shap` over all 1.5 million
   rows (regional sums, national |SHAP|, a 20,000-row sample), in a fresh process that loads
   the fitted model and the same cohort: tracemalloc's peak during the call and the process's
   peak RSS. Target: at most 3 GiB.
3. prints the model's size: trees used per sector (best iteration), trees grown, leaves.
4. fits a model of a fixed size (default 300 trees x 63 leaves, no early stopping, the mbo
   features of the config, all rows) and times the fast exact TreeSHAP
   (:class:`vsvrisk.explain.fast_treeshap.FastTreeShap`) on every row against raw
   ``pred_contrib`` on a 100,000-row slice, scaled to all rows (said so in the output); checks
   that both agree within 1e-9 on that slice and reports the fast path's peak memory.
   Target: at least 15 times faster.

    .venv/bin/python experiments/bench_explain.py [--n-persons 1500000] [--rows 100000] [--trees 300] [--leaves 63]
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

GIB = 1024**3
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml"


def _rss_now() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / GIB


def _cohort(n_persons: int, seed: int):
    from vsvrisk.models import load_model_spec
    from vsvrisk.synth import generate

    spec = load_model_spec(CONFIG)
    return generate(n_persons, school_years=[spec.data.train_year], seed=seed).frame


def _aggregate_in_fresh_process(model_path: str, n_persons: int, seed: int, queue) -> None:
    from vsvrisk.explain import aggregate_shap

    frame = _cohort(n_persons, seed)
    with open(model_path, "rb") as handle:
        model = pickle.load(handle)
    before = _rss_now()
    tracemalloc.start()
    start = time.perf_counter()
    aggregates = aggregate_shap(model, frame, sample_size=20_000)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    queue.put({"seconds": seconds, "traced_peak": peak / GIB, "rss_before": before,
               "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB,
               "rows": int(aggregates.n_persons.sum())})


def _size(model) -> dict:
    sizes = {}
    for group in model.models_:
        booster = model.learner_of(group).booster_
        grown = booster.num_trees()  # binary objective: one tree per iteration
        used = booster.best_iteration or grown  # what predict and pred_contrib use
        trees = booster.dump_model(num_iteration=used)["tree_info"]
        sizes[group] = {"trees_used": used, "trees_grown": grown,
                        "leaves_used": sum(t["num_leaves"] for t in trees[:used]),
                        "max_leaves": max(t["num_leaves"] for t in trees)}
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=63)
    parser.add_argument("--only-fixed-size", action="store_true", help="run part 4 only")
    args = parser.parse_args()
    if not args.only_fixed_size:
        _library_against_raw(args)
    _fixed_size(args)


def _fixed_size(args) -> None:
    import lightgbm
    import numpy as np

    from vsvrisk.explain.fast_treeshap import FastTreeShap
    from vsvrisk.features import build_feature_pipeline
    from vsvrisk.models import load_model_spec

    frame = _cohort(args.n_persons, args.seed)
    X = build_feature_pipeline(load_model_spec(CONFIG).feature_spec("mbo")).fit_transform(frame)
    y = frame["vsv"].astype(int).to_numpy()
    del frame
    params = {"objective": "binary", "num_leaves": args.leaves, "learning_rate": 0.05, "min_child_samples": 100,
              "verbose": -1, "deterministic": True, "force_row_wise": True}
    start = time.perf_counter()
    booster = lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=args.trees)
    print(f"\nfixed size: {len(X):,} rows, {X.shape[1]} features; fit {args.trees} trees x {args.leaves} leaves "
          f"{time.perf_counter() - start:8.1f} s", flush=True)
    before = _rss_now()
    tracemalloc.start()
    start = time.perf_counter()
    fast = FastTreeShap(booster).pred_contrib(X)
    fast_s = time.perf_counter() - start
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    k = min(args.rows, len(X))
    start = time.perf_counter()
    raw = booster.predict(X.iloc[:k], pred_contrib=True)
    raw_s = (time.perf_counter() - start) * len(X) / k
    print(f"fast TreeSHAP, all {len(X):,} rows          {fast_s:8.1f} s")
    print(f"raw pred_contrib on {k:,} rows, scaled to all {raw_s:8.1f} s ({1000 * raw_s / len(X):.2f} ms a row)")
    print(f"speed-up                                   {raw_s / fast_s:8.1f}x  (target >= 15)")
    print(f"largest |difference| on those {k:,} rows   {np.abs(fast[:k] - raw).max():8.1e}  (target <= 1e-9)")
    print(f"fast path: traced peak {traced / GIB:.2f} GiB, RSS before {before:.2f} GiB, "
          f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB:.2f} GiB")


def _library_against_raw(args) -> None:

    import numpy as np

    from vsvrisk.explain import shap_values
    from vsvrisk.models import RiskModel

    frame = _cohort(args.n_persons, args.seed)
    print(f"rows {len(frame):,}; config {CONFIG.name}", flush=True)
    start = time.perf_counter()
    model = RiskModel.from_spec(CONFIG).fit(frame)
    print(f"fit                                        {time.perf_counter() - start:8.1f} s", flush=True)
    for group, size in _size(model).items():
        print(f"model {group:3s}: {size['trees_used']} trees used ({size['trees_grown']} grown), "
              f"{size['leaves_used']:,} leaves in the trees used, at most {size['max_leaves']} per tree")

    rows = frame.sample(args.rows, random_state=args.seed)
    halves = [rows.iloc[: len(rows) // 2], rows.iloc[len(rows) // 2:]]
    matrices = []  # the raw side's input, built outside its timing
    for half in halves:
        groups = model.model_groups(half)
        matrices.append({g: model.feature_pipeline(g).transform(half.loc[groups == g]) for g in model.models_})

    def library(i):
        return shap_values(model, halves[i])

    def raw(i):
        return {g: model.learner_of(g).booster_.predict(m, pred_contrib=True) for g, m in matrices[i].items()}

    # Wall time is what the target is about; CPU time (both threads) is less moved by other
    # processes on a shared machine, so it is printed too.
    wall, cpu, worst = {"library": 0.0, "raw": 0.0}, {"library": 0.0, "raw": 0.0}, 0.0
    for i, order in ((0, ("library", "raw")), (1, ("raw", "library"))):
        results = {}
        for side in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            results[side] = library(i) if side == "library" else raw(i)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
            wall[side] += seconds
            cpu[side] += cpu_seconds
            print(f"  half {i + 1}: {side:7s} {seconds:8.1f} s wall {cpu_seconds:8.1f} s CPU", flush=True)
        values = results["library"]
        for group, contrib in results["raw"].items():
            mine = values[values["model_group"] == group]
            worst = max(worst, float(np.abs(mine["margin"].to_numpy() - contrib.sum(axis=1)).max()))
    print(f"library shap_values, {args.rows:,} rows          {wall['library']:8.1f} s wall {cpu['library']:8.1f} s CPU")
    print(f"raw booster.predict(pred_contrib=True)     {wall['raw']:8.1f} s wall {cpu['raw']:8.1f} s CPU "
          f"({1000 * wall['raw'] / args.rows:.3f} ms per row)")
    print(f"ratio                                      {wall['library'] / wall['raw']:8.3f} wall "
          f"{cpu['library'] / cpu['raw']:8.3f} CPU  (target <= 1.2)")
    print(f"largest |margin difference| library - raw  {worst:8.1e}")

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "model.pkl")
        with open(path, "wb") as handle:
            pickle.dump(model, handle)
        del frame, rows, halves, matrices
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=_aggregate_in_fresh_process, args=(path, args.n_persons, args.seed, queue))
        child.start()
        result = queue.get()
        child.join()
    print(f"aggregate_shap over {result['rows']:,} rows        {result['seconds']:8.1f} s "
          f"({1000 * result['seconds'] / result['rows']:.3f} ms per row, both passes)")
    print(f"peak traced memory of aggregate_shap       {result['traced_peak']:8.2f} GiB  (target <= 3)")
    print(f"RSS before the call (cohort + model)       {result['rss_before']:8.2f} GiB")
    print(f"peak RSS of that process                   {result['rss_peak']:8.2f} GiB  (target <= 3)")


if __name__ == "__main__":
    main()
