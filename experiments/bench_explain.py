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
4. **library data, side by side** (``--only library``): a model of a fixed size (default 300
   trees x 63 leaves, no early stopping, the mbo features of the config, fitted on
   ``--fit-rows`` rows) explained on every row by the fast exact TreeSHAP
   (:class:`vsvrisk.explain.fast_treeshap.FastTreeShap`), against LightGBM's ``pred_contrib``
   (on ``--contrib-rows``, scaled to all rows), the ``shap`` package's ``TreeExplainer`` (which calls
   ``pred_contrib`` for LightGBM; on ``--shap-rows``, scaled) and ``woodelf-explainer`` on a
   numeric-only copy of the model (category codes as numbers: WOODELF has no categorical
   splits; on ``--woodelf-rows``, side by side with the fast path on the same rows and model).
   Targets: at least 40 times ``pred_contrib`` on all rows; equal to it within 1e-9.
5. **continuous data, side by side** (``--only continuous``): the same with five continuous
   features added (standard normal: every row is distinct). Target: at least as fast as
   ``woodelf-explainer`` on the numeric-only copy, exact to 1e-9.

Parts 4 and 5 print a table (:mod:`_side_by_side`). ``woodelf-explainer`` is in the optional
``bench`` extra: ``.venv/bin/pip install -e ".[bench]"``.

    .venv/bin/python experiments/bench_explain.py [--only chain|library|continuous] [--n-persons 1500000]
        [--rows 100000] [--fit-rows 300000] [--contrib-rows 20000] [--shap-rows 5000] [--woodelf-rows 300000]
        [--trees 300] [--leaves 63]
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

from _measure import GIB, load, rss_gib
from _side_by_side import side_by_side

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml"


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
    before = rss_gib()
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
    parser.add_argument("--rows", type=int, default=100_000, help="part 1: rows for the library and raw sides")
    parser.add_argument("--contrib-rows", type=int, default=20_000, help="parts 4-5: rows for pred_contrib")
    parser.add_argument("--shap-rows", type=int, default=5_000)
    parser.add_argument("--woodelf-rows", type=int, default=300_000)
    parser.add_argument("--fit-rows", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=63)
    parser.add_argument("--only", choices=["chain", "library", "continuous"], help="one part (default: all)")
    args = parser.parse_args()
    print(f"load average at the start: {load()}", flush=True)
    if args.only in (None, "chain"):
        _library_against_raw(args)
    for data in ("library", "continuous"):
        if args.only in (None, data):
            side_by_side(args, _cohort(args.n_persons, args.seed), CONFIG, data)


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
