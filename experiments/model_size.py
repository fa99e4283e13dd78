"""Experiment: the size of the LightGBM model as a measured choice (trees x leaves).

On two national-size synthetic cohorts (fit 2018/19, evaluate 2019/20, as
``configs/lightgbm.yaml``), fits per sector one LightGBM model per number of leaves with the
largest number of trees of the grid, and reads the smaller models off it (the first ``t``
trees of a boosted model are the model boosted ``t`` rounds). For every cell it prints the
out-of-time AUC and calibration slope per sector, the AUC of the truth's probabilities (the
ceiling), and the time of exact SHAP (fast TreeSHAP) on ``--shap-rows`` evaluation rows of
the mbo sector, with raw ``pred_contrib`` on a small slice for scale.

The choice: the smallest model (fewest leaves in all, trees x leaves) whose AUC is within
0.001 of the grid's best in both sectors.

    .venv/bin/python experiments/model_size.py [--n-persons 1500000] [--trees 50,100,200,300,500] [--leaves 7,15,31,63,127]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml"


def _ints(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--trees", type=_ints, default=[50, 100, 200, 300, 500])
    parser.add_argument("--leaves", type=_ints, default=[7, 15, 31, 63, 127])
    parser.add_argument("--shap-rows", type=int, default=100_000)
    parser.add_argument("--raw-rows", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import lightgbm
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from vsvrisk.data.codes import MODEL_GROUP
    from vsvrisk.evaluate import calibration_intercept_slope
    from vsvrisk.explain.fast_treeshap import FastTreeShap
    from vsvrisk.features import build_feature_pipeline
    from vsvrisk.models import LIGHTGBM_DEFAULTS, load_model_spec
    from vsvrisk.synth import generate

    spec = load_model_spec(CONFIG)
    frame = generate(args.n_persons, [spec.data.train_year, spec.data.eval_year], seed=args.seed).frame
    print(f"{args.n_persons:,} persons a cohort; fit {spec.data.train_year}, evaluate {spec.data.eval_year}; "
          f"learning rate {spec.params['learning_rate']}, min_child_samples {spec.params['min_child_samples']}",
          flush=True)
    params = {key: value for key, value in {**LIGHTGBM_DEFAULTS, **spec.params}.items()
              if key not in ("n_estimators", "num_leaves")}
    rows = []
    for group in ("vo", "mbo"):
        sector = frame[frame["sector"].astype(object).map(MODEL_GROUP) == group]
        pipeline = build_feature_pipeline(spec.feature_spec(group))
        train = sector[sector["school_year"] == spec.data.train_year]
        test = sector[sector["school_year"] == spec.data.eval_year]
        X_train, X_test = pipeline.fit_transform(train), pipeline.transform(test)
        y_train, y_test = train["vsv"].to_numpy(int), test["vsv"].to_numpy(int)
        truth_auc = roc_auc_score(y_test, test["p_true_features"])
        for leaves in args.leaves:
            start = time.perf_counter()
            model = lightgbm.LGBMClassifier(**params, num_leaves=leaves, n_estimators=max(args.trees))
            model.fit(X_train, y_train)
            fit_s = time.perf_counter() - start
            booster = model.booster_
            for trees in args.trees:
                p = booster.predict(X_test, num_iteration=trees)
                row = {"sector": group, "trees": trees, "leaves": leaves,
                       "auc": roc_auc_score(y_test, p), "truth_auc": truth_auc,
                       "slope": calibration_intercept_slope(y_test, p)[1], "fit_s_all_trees": fit_s}
                if group == "mbo":
                    sample = X_test.iloc[: args.shap_rows]
                    start = time.perf_counter()
                    FastTreeShap(booster, num_iteration=trees).pred_contrib(sample)
                    row["shap_s"] = time.perf_counter() - start
                    start = time.perf_counter()
                    booster.predict(sample.iloc[: args.raw_rows], pred_contrib=True, num_iteration=trees)
                    row["raw_shap_s"] = (time.perf_counter() - start) * len(sample) / args.raw_rows
                rows.append(row)
                print(", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
                      flush=True)
    table = pd.DataFrame(rows)
    wide = table.pivot_table(index=["trees", "leaves"], columns="sector", values=["auc", "slope"])
    wide.columns = [f"{sector} {what}" for what, sector in wide.columns]
    timing = table[table["sector"] == "mbo"].set_index(["trees", "leaves"])[["shap_s", "raw_shap_s"]]
    wide = wide.join(timing).reset_index()
    best = {group: table.loc[table["sector"] == group, "auc"].max() for group in ("vo", "mbo")}
    wide["gap to best"] = np.maximum(best["vo"] - wide["vo auc"], best["mbo"] - wide["mbo auc"])
    wide["size"] = wide["trees"] * wide["leaves"]
    pd.set_option("display.width", 200)
    print()
    print(wide.sort_values(["leaves", "trees"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    eligible = wide[wide["gap to best"] <= 0.001]
    if eligible.empty:  # no cell is within 0.001 in both sectors: take the closest
        print("no model is within 0.001 of the best in both sectors; the closest one is chosen")
        eligible = wide[wide["gap to best"] == wide["gap to best"].min()]
    chosen = eligible.sort_values(["size", "leaves"]).iloc[0]
    print(f"\nbest AUC: vo {best['vo']:.4f}, mbo {best['mbo']:.4f}; truth ceiling: "
          f"vo {table.loc[table.sector == 'vo', 'truth_auc'].iloc[0]:.4f}, "
          f"mbo {table.loc[table.sector == 'mbo', 'truth_auc'].iloc[0]:.4f}")
    print(f"chosen (smallest within 0.001 of the best in both sectors): {int(chosen.trees)} trees x "
          f"{int(chosen.leaves)} leaves (vo {chosen['vo auc']:.4f}, mbo {chosen['mbo auc']:.4f}; "
          f"SHAP on {args.shap_rows:,} mbo rows {chosen['shap_s']:.1f} s)")


if __name__ == "__main__":
    main()
