"""Experiment: the size of the LightGBM model as a measured choice (trees x leaves).

Runs the sweep ``configs/sweep-model-size.yaml`` (a grid of trees x leaves over
``configs/lightgbm.yaml``, fit 2018/19, evaluate 2019/20) at the size given here, tracked in
MLflow as one parent run with a child per trial. The number of trees is a ceiling, as in the
config: early stopping keeps the best number up to it. Then it applies the choice: the smallest
model (fewest leaves in all, trees x leaves) whose out-of-time AUC is within 0.001 of the
grid's best in both sectors. It prints every trial's AUC and calibration slope per sector, the
trees early stopping kept, and the AUC of the truth's probabilities (the ceiling).

    .venv/bin/python experiments/model_size.py [--n-persons 1500000] [--trees 50,100,200,300,500] [--leaves 7,15,31,63,127] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _ints(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--trees", type=_ints, default=[50, 100, 200, 300, 500])
    parser.add_argument("--leaves", type=_ints, default=[7, 15, 31, 63, 127])
    parser.add_argument("--n-jobs", type=int, default=2, help="trials at once (each with one LightGBM thread)")
    parser.add_argument("--experiment", default="model-size")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd

    from vsvrisk.runs import sweep_run

    config = yaml.safe_load((CONFIGS / "sweep-model-size.yaml").read_text(encoding="utf-8"))
    config["model"] = str(CONFIGS / config["model"])
    config["fixed"]["data.synthetic_n_persons"] = args.n_persons
    config["grid"] = {"params.n_estimators": args.trees, "params.num_leaves": args.leaves}
    config["parallel"]["n_jobs"] = args.n_jobs
    print(f"{args.n_persons:,} persons a cohort; {len(args.trees) * len(args.leaves)} trials, {args.n_jobs} at once",
          flush=True)
    start = time.perf_counter()
    result = sweep_run(config, experiment=args.experiment, progress=lambda message: print(message, flush=True))
    seconds = time.perf_counter() - start

    table = result.trials.rename(columns={"params.n_estimators": "trees", "params.num_leaves": "leaves"})
    columns = ["trees", "leaves", "vo_roc_auc", "mbo_roc_auc", "vo_calibration_slope", "mbo_calibration_slope",
               "vo_n_trees", "mbo_n_trees", "duration_s"]
    table = table[table["state"] == "FINISHED"][columns]
    best = {group: table[f"{group}_roc_auc"].max() for group in ("vo", "mbo")}
    table["gap to best"] = np.maximum(best["vo"] - table["vo_roc_auc"], best["mbo"] - table["mbo_roc_auc"])
    table["size"] = table["trees"] * table["leaves"]
    pd.set_option("display.width", 200)
    print()
    print(table.sort_values(["leaves", "trees"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    eligible = table[table["gap to best"] <= 0.001]
    if eligible.empty:  # no cell is within 0.001 in both sectors: take the closest
        print("no model is within 0.001 of the best in both sectors; the closest one is chosen")
        eligible = table[table["gap to best"] == table["gap to best"].min()]
    chosen = eligible.sort_values(["size", "leaves"]).iloc[0]
    truth = result.trials.iloc[0]
    print(f"\nbest AUC: vo {best['vo']:.4f}, mbo {best['mbo']:.4f}; truth ceiling: "
          f"vo {truth['vo_truth_roc_auc']:.4f}, mbo {truth['mbo_truth_roc_auc']:.4f}")
    print(f"chosen (smallest within 0.001 of the best in both sectors): {int(chosen.trees)} trees x "
          f"{int(chosen.leaves)} leaves (vo {chosen['vo_roc_auc']:.4f}, mbo {chosen['mbo_roc_auc']:.4f})")
    print(f"sweep {seconds:.1f} s; best by {result.objective}: trial {result.best['number']} "
          f"{result.best['settings']}; MLflow parent run {result.run_id}")


if __name__ == "__main__":
    main()
