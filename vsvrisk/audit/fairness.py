"""Fairness audit: calibration, ranking and selection per group and sector, against a reference.

For every group (migration background, gender, urbanisation, wealth group, and pairs of them
where every cell is large enough) and every sector, the audit reports observed/expected vsv with
an exact interval, ROC-AUC, and at the national top-``top_share`` cut-off (CBS scenario 4) the
selection rate and the true and false positive rates, each as a ratio to a reference group.

**The flag.** Need is a sum of predicted probabilities, so what moves money between regions is
a group whose risk the model gets wrong on average: a calibration gap. A row is *flagged* when
its O/E ratio to the reference lies outside 0.8-1.25 *and* its interval excludes 1. That
interval is exact (Clopper-Pearson on the group's share of the two groups' observed count) and
simultaneous over every comparison in the audit (Bonferroni), because an audit of a few hundred
cells would otherwise show about one in twenty by chance alone. Ratios of ROC-AUC, selection
rate, TPR and FPR outside the band are listed in ``ratios_outside_band`` but do not flag: the
selection rate *should* differ where risk differs (wealth is a predictor by design), and with
different base rates no calibrated model can also equalise TPR and FPR.

**MetricFrame at scale.** fairlearn's ``MetricFrame`` turns every row into a Python object
before each metric call (about 1.4 microseconds per row and argument, again for every bootstrap
sample: minutes per table at national scale). The audit therefore hands it *resampling units*
instead of persons: within every cell of a table (sector x its characteristics) the persons are
shuffled and dealt into at most 100 units, and each metric maps its units back to their persons.
Point estimates are exact; the bootstrap resamples units, which for random units estimates the
same variance as resampling persons (the random-groups method), and a cell of at most 100
persons is still resampled person by person.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy import stats

from vsvrisk.allocate.need import top_share_weights
from vsvrisk.data.codes import GENDERS, MIGRATION_BACKGROUNDS, SECTORS, URBANISATION, WEALTH_GROUPS
from vsvrisk.evaluate.validation import _wealth_group
from vsvrisk.exceptions import ConfigError, SchemaError
from vsvrisk.report import suppress_small_cells

__all__ = ["AuditResult", "audit_predictions", "CHARACTERISTICS", "BAND"]

#: The characteristics audited, in the order they are reported.
CHARACTERISTICS = ("migration_background", "gender", "urbanisation", "wealth_group")
#: Ratios to the reference outside this band are reported (the four-fifths rule and its inverse).
BAND = (0.8, 1.25)
_LEVELS = {"migration_background": MIGRATION_BACKGROUNDS, "gender": GENDERS,
           "urbanisation": tuple(str(code) for code in URBANISATION), "wealth_group": WEALTH_GROUPS}
_RATED = ("roc_auc", "selection_rate", "tpr", "fpr")
_FAMILY_ERROR = 0.05  # family-wise error of the flag's simultaneous intervals
_UNITS_PER_CELL = 100


@dataclass
class AuditResult:
    """What :func:`audit_predictions` found; every table is an aggregate, small cells suppressed.

    Attributes
    ----------
    table : DataFrame
        One row per sector (``all``, ``vo``, ``mbo``, ``vavo``), characteristic (``gender``,
        ..., or a pair ``migration_background:gender``) and level (``western``, or
        ``western:m``): counts, O/E with interval, the four rated metrics with bootstrap
        intervals, every ratio to the reference, ``flag`` and ``ratios_outside_band``.
    cutoff : float
        The predicted risk at the national top-``top_share`` cut-off.
    references : dict
        Reference level per characteristic (and pair).
    skipped : list of str
        Pairs of characteristics left out (``sector: pair``) because a cell has fewer than
        ``min_cell_size`` persons.
    settings : dict
        ``top_share``, ``n_boot``, ``random_state``, ``threshold``, ``min_cell_size``,
        ``n_comparisons`` (of the Bonferroni adjustment).
    """

    table: pd.DataFrame
    cutoff: float
    references: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def flagged(self) -> pd.DataFrame:
        """The flagged rows."""
        return self.table[self.table["flag"].fillna(False).astype(bool)]

    def findings(self) -> list[str]:
        """One line per flagged row, in words."""
        lines = []
        for row in self.flagged.itertuples(index=False):
            under = row.oe_ratio > 1
            where = "all sectors" if row.sector == "all" else row.sector
            lines.append(
                f"{where}: {row.characteristic} = {row.level}: observed/expected {row.oe:.2f}, {row.oe_ratio:.2f} "
                f"times that of the reference group {self.references[row.characteristic]} (interval "
                f"{row.oe_ratio_low:.2f}-{row.oe_ratio_high:.2f}): the model {'under' if under else 'over'}-predicts "
                f"vsv for this group, so regions where it lives get {'less' if under else 'more'} than their need")
        return lines


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


def _labels(frame: pd.DataFrame) -> pd.DataFrame:
    labels = {}
    if "migration_background" in frame and frame["migration_background"].notna().any():
        labels["migration_background"] = frame["migration_background"].astype(object).fillna("missing").astype(str)
    for name in ("sector", "gender", "urbanisation", "wealth_percentile"):
        if name not in frame:
            raise SchemaError(f"audit: column '{name}' not found: the audit breaks results down by it")
    for name in ("gender", "urbanisation"):
        labels[name] = frame[name].astype(object).astype(str)
    labels["wealth_group"] = _wealth_group(frame)
    return pd.DataFrame(labels, index=frame.index).reset_index(drop=True)


def _level_order(name: str, present) -> list[str]:
    present = set(present)
    known = [level for level in _LEVELS[name] if level in present]
    return known + sorted(present - set(known))


def _references(labels: pd.DataFrame, given: dict | None) -> dict[str, str]:
    given = dict(given or {})
    unknown = sorted(set(given) - set(labels.columns))
    if unknown:
        raise ConfigError(f"audit reference: '{unknown[0]}' is not an audited characteristic: choose from {', '.join(labels.columns)}")
    references = {}
    for name in labels.columns:
        counts = labels[name].value_counts()
        order = _level_order(name, counts.index)
        if name in given:
            if str(given[name]) not in counts.index:
                raise ConfigError(f"audit reference: {name} has no level '{given[name]}': choose from {', '.join(order)}")
            references[name] = str(given[name])
        else:  # the largest group; among equals the first in code order
            references[name] = max(order, key=lambda level: (counts[level], -order.index(level)))
    return references


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


def _oe_columns(table: pd.DataFrame, references: dict, n_comparisons: int) -> pd.DataFrame:
    observed, expected = table["observed"].to_numpy(float), table["expected"].to_numpy(float)
    table["oe"] = observed / expected
    table["oe_low"] = np.where(observed > 0, stats.chi2.ppf(0.025, 2 * observed) / 2, 0.0) / expected
    table["oe_high"] = stats.chi2.ppf(0.975, 2 * (observed + 1)) / 2 / expected
    reference = table["level"] == table["characteristic"].map(references)
    keys = ["sector", "characteristic"]
    ref = table.loc[reference, keys + ["observed", "expected", "oe", *_RATED]].set_index(keys).add_suffix("_ref")
    joined = table.join(ref, on=keys)
    for metric in ("oe", *_RATED):
        table[f"{metric}_ratio"] = joined[metric] / joined[f"{metric}_ref"]
    # Exact interval of a ratio of two standardised ratios: given both groups' observed count,
    # the group's count is binomial with share theta*E_g / (theta*E_g + E_ref).
    alpha = _FAMILY_ERROR / max(n_comparisons, 1)
    k, n = observed, observed + joined["observed_ref"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
        scale = joined["expected_ref"].to_numpy(float) / expected
        table["oe_ratio_low"] = low / (1 - low) * scale
        table["oe_ratio_high"] = np.where(high < 1, high / (1 - high) * scale, np.inf)
    table.loc[reference, ["oe_ratio_low", "oe_ratio_high"]] = np.nan  # a group against itself
    table["is_reference"] = reference.to_numpy()
    outside = table["oe_ratio"].lt(BAND[0]) | table["oe_ratio"].gt(BAND[1])
    excludes_one = table["oe_ratio_low"].gt(1) | table["oe_ratio_high"].lt(1)
    table["flag"] = (outside & excludes_one & ~reference).to_numpy()
    table["ratios_outside_band"] = [
        ";".join(m for m in _RATED if not BAND[0] <= row[f"{m}_ratio"] <= BAND[1] and pd.notna(row[f"{m}_ratio"]))
        for _, row in table.iterrows()]
    return table


_COLUMNS = ["sector", "characteristic", "level", "is_reference", "n_persons", "observed", "expected", "oe",
            "oe_low", "oe_high", "oe_ratio", "oe_ratio_low", "oe_ratio_high",
            *(f"{m}{s}" for m in _RATED for s in ("", "_low", "_high", "_ratio")), "flag", "ratios_outside_band"]


def audit_predictions(frame: pd.DataFrame, p, *, reference: dict | None = None, top_share: float = 0.4,
                      n_boot: int = 100, random_state: int = 0, threshold: int = 10,
                      min_cell_size: int = 1000) -> AuditResult:
    """Audit predicted risks per group and sector against a reference group.

    Parameters
    ----------
    frame : DataFrame
        A cohort with known outcomes (``vsv``), ``sector``, ``gender``, ``urbanisation``,
        ``wealth_percentile`` and, when available, ``migration_background``.
    p : array-like
        Predicted risk of each row.
    reference : dict, optional
        Reference level per characteristic (e.g. ``{"wealth_group": "q3"}``); by default the
        largest group. A pair's reference is the pair of its characteristics' references.
    top_share : float, default=0.4
        The national cut-off: the top 40% by predicted risk is "selected" (CBS scenario 4; ties
        at the cut-off count in part, as in the allocation).
    n_boot : int, default=100
        Bootstrap samples of MetricFrame for the 95% intervals of ROC-AUC, selection rate, TPR
        and FPR; 0 leaves them out. The flag does not depend on it. Each sample costs about a
        second for all tables together (more at national scale).
    random_state : int, default=0
        Seed of the resampling units and of the bootstrap.
    threshold : int, default=10
        Disclosure control: rows based on fewer persons are suppressed.
    min_cell_size : int, default=1000
        A pair of characteristics is audited in a sector only if every one of its cells there
        has at least this many persons.

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> frame = generate(20_000, seed=3).frame
    >>> result = audit_predictions(frame, frame["p_true"], n_boot=0, min_cell_size=20_000)
    >>> result.references["gender"], int(result.table["flag"].sum())
    ('m', 0)
    """
    if "vsv" not in frame or frame["vsv"].isna().any():
        raise SchemaError("audit: column 'vsv' must be present and complete: audit a cohort with known outcomes")
    if not 0 < top_share < 1:
        raise ConfigError(f"audit: top_share must lie between 0 and 1 (0.4 for CBS scenario 4), got {top_share}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ConfigError(f"audit: n_boot must be a whole number of at least 0, got {n_boot!r}")
    y = frame["vsv"].to_numpy(dtype=float)
    p = np.asarray(p, dtype=float)
    if p.shape != y.shape or not np.all((p >= 0) & (p <= 1)):
        raise SchemaError(f"audit: p must hold one probability in [0, 1] per row of the frame ({len(y)} rows)")
    order = np.argsort(-p, kind="stable")
    selected = np.empty(len(p))
    selected[order] = top_share_weights(p[order], np.ones(len(p)), top_share)
    labels = _labels(frame)
    references = _references(labels, reference)
    labels["sector"] = frame["sector"].astype(object).astype(str).to_numpy()
    sectors = ["all", *(s for s in SECTORS if (labels["sector"] == s).any())]

    tables, skipped, names = [], [], list(references)
    groupings = [[name] for name in names] + [list(pair) for pair in combinations(names, 2)]
    for index, grouping in enumerate(groupings):
        keep = sectors
        if len(grouping) == 2:
            keep = [s for s in sectors if _smallest_cell(labels, grouping, s) >= min_cell_size]
            for sector in (s for s in sectors if s not in keep):
                skipped.append(f"{sector}: {':'.join(grouping)}")
            references[":".join(grouping)] = ":".join(references[n] for n in grouping)
        if keep:
            tables.append(_frame_rows(labels, grouping, keep, y, p, selected, n_boot, [random_state, index]))
    table = pd.concat(tables, ignore_index=True)
    for metric in _RATED:
        for bound in ("low", "high"):
            if f"{metric}_{bound}" not in table:
                table[f"{metric}_{bound}"] = np.nan
    comparable = (table["level"] != table["characteristic"].map(references)) & (table["n_persons"] >= threshold)
    n_comparisons = int(comparable.sum())
    table = _oe_columns(table, references, n_comparisons)
    table["sector"] = pd.Categorical(table["sector"], categories=sectors, ordered=True)
    table["_group"] = table["characteristic"].map({":".join(g): i for i, g in enumerate(groupings)})
    table["_level"] = [_level_rank(c, lv) for c, lv in zip(table["characteristic"], table["level"])]
    table = table.sort_values(["sector", "_group", "_level"], ignore_index=True)[_COLUMNS]
    table["sector"] = table["sector"].astype(str)
    table["n_persons"] = table["n_persons"].astype(np.int64)
    table["observed"] = table["observed"].astype(np.int64)
    published = [suppress_small_cells(block, threshold=threshold, columns=[c for c in _COLUMNS[4:]])
                 for _, block in table.groupby(["sector", "characteristic"], sort=False)]
    table = pd.concat(published, ignore_index=True)
    settings = {"top_share": top_share, "n_boot": int(n_boot), "random_state": random_state, "threshold": threshold,
                "min_cell_size": min_cell_size, "n_comparisons": n_comparisons, "band": list(BAND),
                "family_error": _FAMILY_ERROR}
    return AuditResult(table=table, cutoff=float(p[order][selected[order] > 0].min()),
                       references=references, skipped=skipped, settings=settings)


def _smallest_cell(labels: pd.DataFrame, grouping: list[str], sector: str) -> int:
    rows = labels if sector == "all" else labels[labels["sector"] == sector]
    counts = rows.groupby(grouping).size()
    full = pd.MultiIndex.from_product([labels[name].unique() for name in grouping])
    return int(counts.reindex(full, fill_value=0).min())


def _level_rank(characteristic: str, level: str) -> tuple:
    rank = []
    for name, value in zip(characteristic.split(":"), level.split(":")):
        order = list(_LEVELS.get(name, ()))
        rank.append((order.index(value), "") if value in order else (len(order), value))
    return tuple(rank)
