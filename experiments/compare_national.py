"""``vsvrisk compare`` at national size: the CBS replica against LightGBM (and LightGBM against itself).

Two synthetic cohorts of 1.5 million persons (2018/19 and 2019/20); the CBS replica and
LightGBM (``configs/lightgbm.yaml``; with ``--seeds`` also with seed 1) each fitted on 2018/19
and evaluated on 2019/20, tracked in a store in a temporary folder; then
:func:`vsvrisk.runs.compare_runs` on the runs, timed (reading the file again, scoring it with
each model, DeLong per sector, 1,000 paired bootstrap replicates of the need shares). Prints
the sentences, the differences with their intervals, the seconds, peak memory and the load.

    .venv/bin/python experiments/compare_national.py [--n-persons 1500000] [--n-boot 1000] [--seeds]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--n-boot", type=int, default=1_000)
    parser.add_argument("--seeds", action="store_true", help="also LightGBM with seed 1 (one more national fit)")
    args = parser.parse_args()

    import pandas as pd
    import yaml

    from vsvrisk.config import default_config
    from vsvrisk.data import write_person_years
    from vsvrisk.runs import compare_runs, train, write_comparison
    from vsvrisk.synth import generate

    def spec(name: str, **changes) -> dict:
        settings = yaml.safe_load(default_config(name).read_text(encoding="utf-8"))
        settings["data"] = {**settings.get("data", {}), "train_year": 2018, "eval_year": 2019}
        return {**settings, **changes}

    with tempfile.TemporaryDirectory() as folder:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(folder) / 'mlflow.db'}"
        path = Path(folder) / "cohorts.parquet"
        start = time.perf_counter()
        write_person_years(generate(args.n_persons, [2018, 2019], seed=1).frame, path)
        print(f"synthetic cohorts 2018 and 2019, {args.n_persons:,} each: {time.perf_counter() - start:.0f} s",
              flush=True)
        ids = []
        models = [("cbs-replica", {}), ("lightgbm", {})] + ([("lightgbm", {"seed": 1})] if args.seeds else [])
        for name, changes in models:
            start = time.perf_counter()
            run = train(spec(name, **changes), data=path, experiment="compare-national", register=False)
            ids.append(run.run_id)
            print(f"{name} {changes or ''}: trained in {time.perf_counter() - start:.0f} s", flush=True)
        before = os.getloadavg()
        start, cpu = time.perf_counter(), time.process_time()
        result = compare_runs(run_ids=ids, n_boot=args.n_boot)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        write_comparison(result, Path(folder) / "compare")
    pd.set_option("display.width", 250)
    comparison = result.comparison
    print("\n".join(comparison.sentences))
    shown = comparison.differences[comparison.differences["measure"].isin(["roc_auc", "need_distance"])
                                   & comparison.differences["sector"].isin(["vo", "mbo", "all"])]
    print(shown.drop(columns=["better"]).round(5).to_string(index=False))
    print(comparison.need.round(5).to_string(index=False))
    print(f"compare_runs: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU; n_boot {args.n_boot}; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB; "
          f"load average before {before[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
