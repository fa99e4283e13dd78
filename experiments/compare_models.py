"""Compare the CBS replica, logistic on all features, LightGBM and calibrated LightGBM.

Out of time (fit on 2018/19, evaluate on 2019/20; the CBS replica as in its config) on a
national-size synthetic population, against the truth: the AUC of the true feature-based
probabilities per sector, calibration slopes, and the L1 error of regional need shares.
Every model is logged to MLflow (experiment ``compare-models``).

    .venv/bin/python experiments/compare_models.py [--n-persons 1500000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

CONFIGS = ("cbs-replica", "logistic", "lightgbm", "lightgbm-calibrated")
SHOWN = (
    "vo_roc_auc", "vo_truth_roc_auc", "mbo_roc_auc", "mbo_truth_roc_auc",
    "vo_calibration_slope", "mbo_calibration_slope", "all_mean_abs_error", "need_share_l1",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import pandas as pd

    from vsvrisk.data import write_person_years
    from vsvrisk.models import load_model_spec
    from vsvrisk.runs import train
    from vsvrisk.synth import generate

    root = Path(__file__).resolve().parents[1] / "configs"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohorts.parquet"
        start = time.perf_counter()
        write_person_years(generate(args.n_persons, [2017, 2018, 2019], seed=args.seed).frame, path)
        print(f"synthetic cohorts 2017-2019, {args.n_persons:,} each: {time.perf_counter() - start:.0f} s", flush=True)
        for name in CONFIGS:
            spec = load_model_spec(root / f"{name}.yaml")
            start = time.perf_counter()
            run = train(spec, data=path, experiment="compare-models")
            seconds = time.perf_counter() - start
            metrics = run.result.evaluation.metrics
            rows.append({"model": name, "fit on": spec.data.train_year, "eval on": spec.data.eval_year,
                         "seconds": round(seconds), **{k: metrics.get(k) for k in SHOWN}})
            print(f"{name}: {seconds:.0f} s, run {run.run_id}", flush=True)
    table = pd.DataFrame(rows).set_index("model")
    table["vo_auc_gap"] = table["vo_truth_roc_auc"] - table["vo_roc_auc"]
    table["mbo_auc_gap"] = table["mbo_truth_roc_auc"] - table["mbo_roc_auc"]
    pd.set_option("display.width", 250)
    print(table.round(4).to_string())
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
