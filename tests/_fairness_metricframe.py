"""The fairness audit's group tables as fairlearn's MetricFrame computed them (before the
vectorised bootstrap): the reference the tests hold the fast path to.

This is the former ``vsvrisk.audit.fairness._frame_rows``, verbatim: MetricFrame over the same
resampling units, with its own bootstrap (``n_boot`` resamples of all units of a table).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy import stats

_RATED = ("roc_auc", "selection_rate", "tpr", "fpr")
_UNITS_PER_CELL = 100


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    # The Mann-Whitney form (ties count one half), as roc_auc_score, without its per-call checks.
    positives = y.sum()
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = stats.rankdata(p)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


class _Units:
    """Persons dealt into resampling units within cells; metric functions over unit ids."""

    def __init__(self, cells: np.ndarray, y, p, selected, rng: np.random.Generator):
        shuffled = rng.permutation(len(cells))
        self.order = shuffled[np.argsort(cells[shuffled], kind="stable")]
        cell_sizes = np.bincount(cells)
        cell_starts = np.concatenate([[0], np.cumsum(cell_sizes)[:-1]])
        units_per_cell = np.minimum(cell_sizes, _UNITS_PER_CELL)
        unit_offsets = np.concatenate([[0], np.cumsum(units_per_cell)[:-1]])
        sorted_cells = cells[self.order]
        rank = np.arange(len(cells)) - cell_starts[sorted_cells]
        unit = unit_offsets[sorted_cells] + rank * units_per_cell[sorted_cells] // cell_sizes[sorted_cells]
        self.start = np.searchsorted(unit, np.arange(units_per_cell.sum()), side="left")
        self.length = np.bincount(unit, minlength=units_per_cell.sum())
        self.first_person = self.order[self.start]  # labels of a unit are those of any member
        self.y, self.p, self.selected = y, p, selected

    def members(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        lengths = self.length[ids]
        offsets = np.repeat(self.start[ids] - np.cumsum(lengths) + lengths, lengths)
        return self.order[offsets + np.arange(lengths.sum())]

    def metrics(self) -> dict:
        """MetricFrame's metric functions: each maps its unit ids (``y_true``) back to persons."""
        y, p, s = self.y, self.p, self.selected

        def on(metric):
            return lambda ids, _: float(metric(self.members(ids)))

        def share(part, whole):  # NaN for an empty denominator (a group without leavers)
            return part.sum() / whole.sum() if whole.any() else np.nan

        return {"n_persons": on(len), "observed": on(lambda m: y[m].sum()), "expected": on(lambda m: p[m].sum()),
                "roc_auc": on(lambda m: _roc_auc(y[m], p[m])), "selection_rate": on(lambda m: s[m].mean()),
                "tpr": on(lambda m: share(s[m] * y[m], y[m])), "fpr": on(lambda m: share(s[m] * (1 - y[m]), 1 - y[m]))}


def _frame_rows(labels: pd.DataFrame, names: list[str], sectors: list[str], y, p, selected,
                n_boot: int, seed) -> pd.DataFrame:
    """MetricFrame by group (for ``all``) and by sector and group, over resampling units."""
    cells = labels.groupby(["sector", *names], sort=True).ngroup().to_numpy()
    units = _Units(cells, y, p, selected, np.random.default_rng(seed))
    # Integer codes: fairlearn groups faster on them than on (arrow-backed) strings.
    unit_labels = labels.iloc[units.first_person].reset_index(drop=True)
    codes = {name: pd.factorize(unit_labels[name], sort=True) for name in ["sector", *names]}
    unit_codes = pd.DataFrame({name: code for name, (code, _) in codes.items()})
    ids = np.arange(len(units.start))
    boot = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": int(np.random.default_rng(seed).integers(2**31))} if n_boot else {}
    parts = []
    for control in ([False] if "all" in sectors else []) + ([True] if set(sectors) - {"all"} else []):
        groups = {"y_true": ids, "y_pred": ids, "sensitive_features": unit_codes[names],
                  "control_features": unit_codes["sector"] if control else None}
        table = MetricFrame(metrics=units.metrics(), **groups).by_group.copy()
        if n_boot:  # only the rated metrics: a bootstrap of the counts would cost time and mean nothing
            with warnings.catch_warnings():  # a quantile over a cell with one outcome only is NaN
                warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
                rated = {name: f for name, f in units.metrics().items() if name in _RATED}
                frame = MetricFrame(metrics=rated, **groups, **boot)
            for bound, ci in zip(("low", "high"), frame.by_group_ci):
                for metric in _RATED:
                    table[f"{metric}_{bound}"] = ci[metric].reindex(table.index)
        table = table.reset_index()
        for name in table.columns.intersection(["sector", *names]):
            table[name] = codes[name][1].to_numpy()[table[name].to_numpy()]
        if not control:
            table.insert(0, "sector", "all")
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    table = table[table["sector"].isin(sectors) & (table["n_persons"] > 0)]
    table.insert(1, "characteristic", ":".join(names))
    table.insert(2, "level", table[names].astype(str).agg(":".join, axis=1))
    return table.drop(columns=names)
