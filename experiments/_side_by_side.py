"""Parts 4 and 5 of ``bench_explain.py``: the fast exact TreeSHAP beside LightGBM's ``pred_contrib``,
the ``shap`` package and ``woodelf-explainer``, in one process, on the library's data or on
continuous data (see that script's docstring)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _measure import load, measure

N_CONTINUOUS = 5


def _matrix(frame: pd.DataFrame, config, data: str, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The mbo features of the config for every row (plus continuous ones), and the target."""
    from vsvrisk.features import build_feature_pipeline
    from vsvrisk.models import load_model_spec

    X = build_feature_pipeline(load_model_spec(config).feature_spec("mbo")).fit_transform(frame)
    if data == "continuous":
        rng = np.random.default_rng(seed)
        for i in range(N_CONTINUOUS):
            X[f"continuous_{i}"] = rng.standard_normal(len(X))
    return X, frame["vsv"].astype(int).to_numpy()


def _numeric_copy(X: pd.DataFrame) -> pd.DataFrame:
    """Category columns as their codes (missing: NaN): the same data without categorical splits."""
    out = X.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].cat.codes.astype(float).where(out[column].notna())
    return out


def _fit(X, y, args):
    import lightgbm

    params = {"objective": "binary", "num_leaves": args.leaves, "learning_rate": 0.05, "min_child_samples": 100,
              "verbose": -1, "deterministic": True, "force_row_wise": True, "seed": args.seed}
    start = time.perf_counter()
    booster = lightgbm.train(params, lightgbm.Dataset(X.iloc[:args.fit_rows], y[:args.fit_rows]), args.trees)
    return booster, time.perf_counter() - start


def side_by_side(args, frame: pd.DataFrame, config, data: str) -> None:
    """Fit the categorical model and its numeric-only copy, explain, print the table."""
    import shap

    from vsvrisk.explain.fast_treeshap import FastTreeShap

    X, y = _matrix(frame, config, data, args.seed)
    del frame
    numeric = _numeric_copy(X)
    n = len(X)
    distinct = n - int(numeric.duplicated().sum())
    print(f"\n{data} data: {n:,} rows ({distinct:,} distinct), {X.shape[1]} features; models of {args.trees} trees x "
          f"{args.leaves} leaves fitted on the first {min(args.fit_rows, n):,} rows", flush=True)
    table = []

    def row(model, explainer, rows, measured, reference=None, extra=""):
        per_million = measured.seconds / rows * 1e6
        table.append({"model": model, "explainer": explainer, "rows": rows, "seconds": measured.seconds,
                      "cpu": measured.cpu_seconds, "per_million": per_million, "peak": measured.peak_gib,
                      "difference": reference, "load": measured.load, "note": extra})
        print(f"  {model:12s} {explainer:28s} {rows:>10,} rows {measured.seconds:9.1f} s  ({measured.load})", flush=True)

    for kind, matrix in (("categorical", X), ("numeric-only", numeric)):
        booster, seconds = _fit(matrix, y, args)
        print(f"  fit {kind} model: {seconds:.1f} s", flush=True)
        fast = measure(lambda: FastTreeShap(booster).pred_contrib(matrix))
        k = min(args.contrib_rows, n)
        raw = measure(lambda: booster.predict(matrix.iloc[:k], pred_contrib=True))
        difference = float(np.abs(fast.result[:k] - raw.result).max())
        row(kind, "fast TreeSHAP (vsvrisk)", n, fast, difference)
        row(kind, "LightGBM pred_contrib", k, raw)
        if kind == "categorical":
            k_shap = min(args.shap_rows, n)
            explained = measure(lambda: shap.TreeExplainer(booster).shap_values(matrix.iloc[:k_shap]))
            shap_difference = float(np.abs(explained.result - fast.result[:k_shap, :-1]).max())
            row(kind, "shap TreeExplainer", k_shap, explained, shap_difference, "calls pred_contrib")
            continue
        from woodelf import WoodelfExplainer

        k_wood = min(args.woodelf_rows, n)
        part = matrix.iloc[:k_wood]
        same_rows = measure(lambda: FastTreeShap(booster).pred_contrib(part))
        wood = measure(lambda: WoodelfExplainer(booster).shap_values(part, verbose=False))
        wood_difference = float(np.abs(np.asarray(wood.result, dtype=float)[:k] - raw.result[:, :-1]).max())
        row(kind, "fast TreeSHAP (vsvrisk)", k_wood, same_rows, float(np.abs(same_rows.result[:k] - raw.result).max()),
            "side by side with woodelf")
        row(kind, "woodelf-explainer 0.4.8", k_wood, wood, wood_difference, "float32")
        del booster
    _print(table, data)


def _print(table: list, data: str) -> None:
    fast = {(r["model"], r["rows"]): r for r in table if r["explainer"].startswith("fast")}
    print(f"\n| data | model | explainer | rows | seconds | CPU s | s per 1 M rows | x fast | peak GiB | "
          f"max diff. from pred_contrib | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        mine = fast.get((r["model"], r["rows"])) or next(f for (m, _), f in fast.items() if m == r["model"])
        times = r["per_million"] / mine["per_million"]
        difference = "" if r["difference"] is None else f"{r['difference']:.1e}"
        note = f" ({r['note']})" if r["note"] else ""
        print(f"| {data} | {r['model']} | {r['explainer']}{note} | {r['rows']:,} | {r['seconds']:.1f} | "
              f"{r['cpu']:.1f} | {r['per_million']:.1f} | {times:.1f} | {r['peak']:.2f} | {difference} | {r['load']} |")
