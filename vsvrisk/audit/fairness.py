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

**Resampling units.** The intervals of ROC-AUC, selection rate, TPR and FPR are a bootstrap over
*resampling units* that stand in for persons: within every cell of a table (sector x its
characteristics) the persons are shuffled and dealt into at most 100 units; a replicate draws, in
every cell, as many of its units as it has, with replacement, and gives the cell a multinomial
share of the persons, as a bootstrap over persons would. For random units within a cell this
estimates the same variance as resampling persons (the random-groups method); a cell of at most
100 persons is resampled person by person. Units make the bootstrap cheap: every metric of a
replicate is a function of a few sums over units (the AUC through the count of correctly ranked
pairs between every two units), so 1,000 replicates of every table over 1.5 million persons take
seconds (:mod:`vsvrisk.audit._group_bootstrap`; figure in ``experiments/README.md``,
``bench_audit.py``). Point estimates are those of the persons, exactly. (The former
implementation, fairlearn's ``MetricFrame``, resampled the units of all cells together, about 16 s
a replicate at national size; a unit of a large cell then moved thousands of persons of one
sector at once, and the intervals of the ``all`` rows came out several times too wide. Within a
sector both give the same intervals; the tests hold the audit to a bootstrap over persons.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from vsvrisk.allocate.need import top_share_weights
from vsvrisk.audit._group_bootstrap import RATED as _RATED
from vsvrisk.audit._group_bootstrap import UnitTable, deal_units, risk_order
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
_FAMILY_ERROR = 0.05  # family-wise error of the flag's simultaneous intervals


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


def _labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The audited characteristics as categoricals of text, categories in text order."""
    labels = {}
    if "migration_background" in frame and frame["migration_background"].notna().any():
        labels["migration_background"] = _text_categories(frame["migration_background"], missing="missing")
    for name in ("sector", "gender", "urbanisation", "wealth_percentile"):
        if name not in frame:
            raise SchemaError(f"audit: column '{name}' not found: the audit breaks results down by it")
    for name in ("gender", "urbanisation"):
        labels[name] = _text_categories(frame[name])
    labels["wealth_group"] = _text_categories(_wealth_group(frame))
    return pd.DataFrame(labels).reset_index(drop=True)


def _text_categories(values: pd.Series, missing: str | None = None) -> pd.Categorical:
    # Codes, not a million strings: every table is then grouped by integer arithmetic.
    codes, uniques = pd.factorize(values)
    texts = [str(value) for value in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(texts), codes)
        texts.append(str(missing))
    order = np.argsort(texts, kind="stable")
    rank = np.empty(len(texts), dtype=np.int64)
    rank[order] = np.arange(len(texts))
    return pd.Categorical.from_codes(rank[codes], categories=[texts[i] for i in order])


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


def _cells(labels: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[tuple]]:
    """Cell number of every person and the cells' labels, cells in the text order of their labels."""
    codes = [labels[name].cat.codes.to_numpy().astype(np.int64) for name in columns]
    categories = [labels[name].cat.categories for name in columns]
    full = np.ravel_multi_index(codes, [len(c) for c in categories])
    sizes = np.bincount(full, minlength=int(np.prod([len(c) for c in categories])))
    present = np.flatnonzero(sizes)
    number = np.zeros(sizes.size, dtype=np.int64)
    number[present] = np.arange(present.size)
    keys = np.unravel_index(present, [len(c) for c in categories])
    return number[full], list(zip(*(c[k] for c, k in zip(categories, keys))))


def _frame_rows(labels: pd.DataFrame, names: list[str], sectors: list[str], y, p, selected,
                n_boot: int, seed, by_risk=None) -> pd.DataFrame:
    """One table: by group (for ``all``) and by sector and group, over resampling units."""
    cells, keys = _cells(labels, ["sector", *names])
    cell_levels = [":".join(key[1:]) for key in keys]
    level_of_cell, levels = pd.factorize(pd.Series(cell_levels))
    unit_of_person, cell_of_unit = deal_units(cells, np.random.default_rng(seed))
    units = UnitTable(unit_of_person, cell_of_unit, level_of_cell, y, p, selected, by_risk)
    table = pd.DataFrame({"sector": ["all"] * len(levels) + [key[0] for key in keys],
                          "level": [*levels, *cell_levels], **units.point()})
    if n_boot:
        intervals = units.bootstrap(n_boot, np.random.default_rng([*seed, 1]))
        for metric in _RATED:
            table[f"{metric}_low"], table[f"{metric}_high"] = intervals[metric]
    table = table[table["sector"].isin(sectors)].reset_index(drop=True)
    table.insert(1, "characteristic", ":".join(names))
    return table


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
                      n_boot: int = 1000, random_state: int = 0, threshold: int = 10,
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
    n_boot : int, default=1000
        Bootstrap replicates for the 95% intervals of ROC-AUC, selection rate, TPR and FPR; 0
        leaves them out. The flag does not depend on it. 1,000 replicates of every table over
        1.5 million persons take well under a minute on two cores.
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
    labels["sector"] = _text_categories(frame["sector"].reset_index(drop=True))
    sectors = ["all", *(s for s in SECTORS if s in labels["sector"].cat.categories)]
    by_risk = risk_order(y, p)  # one sort for every table

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
            tables.append(_frame_rows(labels, grouping, keep, y, p, selected, n_boot, [random_state, index],
                                      by_risk=by_risk))
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
    """The fewest persons in a combination of the grouping's levels (every level seen anywhere)."""
    rows = slice(None) if sector == "all" else (labels["sector"] == sector).to_numpy()
    codes = [labels[name].cat.codes.to_numpy()[rows].astype(np.int64) for name in grouping]
    shape = [len(labels[name].cat.categories) for name in grouping]
    return int(np.bincount(np.ravel_multi_index(codes, shape), minlength=int(np.prod(shape))).min())


def _level_rank(characteristic: str, level: str) -> tuple:
    rank = []
    for name, value in zip(characteristic.split(":"), level.split(":")):
        order = list(_LEVELS.get(name, ()))
        rank.append((order.index(value), "") if value in order else (len(order), value))
    return tuple(rank)
