"""The group metrics of one audit table and their bootstrap, over resampling units, vectorised.

A table (one characteristic or a pair, by sector) is computed from its *resampling units*: within
every cell (sector x level) the persons are shuffled and dealt into at most ``UNITS_PER_CELL``
units (see :mod:`vsvrisk.audit.fairness` for why units, not persons). A bootstrap replicate is a
vector of weights ``w[r, u]``: how often unit *u* was drawn, within its cell, times the cell's
drawn share of persons (:meth:`UnitTable.bootstrap`). Every metric is then a function of a few
weighted sums over units, which is what makes 1,000 replicates cheap:

- counts, rates and sums: ``w @ Q`` with ``Q`` the per-unit sums (persons, leavers, selected, ...);
- ROC-AUC: the Mann-Whitney count over (leaver, non-leaver) pairs, ties counting one half. With
  ``C[a, b]`` the count of such pairs between the leavers of unit *a* and the non-leavers of unit
  *b*, a replicate that draws *a* ``w_a`` times and *b* ``w_b`` times holds ``w_a w_b C[a, b]``
  of them, so its AUC is ``w C w`` over the weighted count of leavers times that of non-leavers:
  exactly the AUC of the resampled persons, duplicates included. ``C`` is built once per group
  from one pass over its persons sorted by risk (:func:`_pair_counts`).

The point estimates are the same sums with every count 1; the AUC is then exact (sums of
half-integers), and so are the counts.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

#: A cell of up to this many persons is resampled person by person; a larger one in this many units.
UNITS_PER_CELL = 100
#: Replicates drawn and evaluated together. A constant, not a parameter: the random stream is
#: consumed block by block, so the same seed gives the same numbers whatever the machine.
_BLOCK = 50
#: Largest (units x distinct leaver risks) work array of :func:`_pair_counts` (float64 entries).
_PAIR_CHUNK = 1 << 22
#: The per-unit sums, the columns of ``Q``.
_SUMS = ("n_persons", "observed", "expected", "selected", "selected_leavers", "selected_stayers")
RATED = ("roc_auc", "selection_rate", "tpr", "fpr")


def deal_units(cells: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Deal the persons of every cell at random into at most ``UNITS_PER_CELL`` units.

    Returns ``(unit_of_person, cell_of_unit)``; units are numbered cell by cell, so the units
    of a cell are a contiguous range.

    Examples
    --------
    >>> unit, cell = deal_units(np.array([0, 1, 0, 1, 1]), np.random.default_rng(0))
    >>> sorted(unit.tolist()), cell.tolist()
    ([0, 1, 2, 3, 4], [0, 0, 1, 1, 1])
    """
    shuffled = rng.permutation(len(cells))
    # A stable sort of small integers is a radix sort in numpy: linear, not n log n.
    order = shuffled[np.argsort(_small_ints(cells)[shuffled], kind="stable")]
    cell_sizes = np.bincount(cells)
    cell_starts = np.concatenate([[0], np.cumsum(cell_sizes)[:-1]])
    units_per_cell = np.minimum(cell_sizes, UNITS_PER_CELL)
    unit_offsets = np.concatenate([[0], np.cumsum(units_per_cell)[:-1]])
    sorted_cells = cells[order]
    rank = np.arange(len(cells)) - cell_starts[sorted_cells]
    unit_of_person = np.empty(len(cells), dtype=np.int64)
    unit_of_person[order] = unit_offsets[sorted_cells] + rank * units_per_cell[sorted_cells] // cell_sizes[sorted_cells]
    return unit_of_person, np.repeat(np.arange(len(cell_sizes)), units_per_cell)


def _small_ints(codes: np.ndarray) -> np.ndarray:
    return codes.astype(np.int16) if codes.size and codes.max() < 2**15 else codes


def risk_order(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Persons by predicted risk, ascending, leavers before non-leavers of the same risk."""
    return np.lexsort((1 - y, p))


def _pair_counts(unit: np.ndarray, n_units: int, leaver: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``C[a, b]``: (leaver of unit a, non-leaver of unit b) pairs ranked right, ties one half.

    The persons of one group come in :func:`risk_order`; ``unit`` holds their local unit
    numbers ``0..n_units-1``.
    """
    counts = np.zeros((n_units, n_units))
    at = np.flatnonzero(leaver)
    if at.size == 0 or at.size == leaver.size:
        return counts
    # Number the distinct risks of the leavers 0..m-1; seen[k]: how many of them are <= p[k].
    # A leaver comes before the non-leavers of the same risk, so for a non-leaver they are
    # exactly the leaver risks <= its own; the last of them is tied with it or below it.
    new_value = np.ones(at.size, dtype=bool)
    new_value[1:] = p[at[1:]] != p[at[:-1]]
    values = p[at[new_value]]
    m = values.size
    marks = np.zeros(leaver.size, dtype=np.int64)
    marks[at[new_value]] = 1
    seen = np.cumsum(marks)
    stayer = ~leaver
    stayer_unit, above = unit[stayer], seen[stayer]
    tied = (above > 0) & (values[np.maximum(above - 1, 0)] == p[stayer])
    # leaver_matrix[a, k]: leavers of unit a at the k-th distinct risk (sparse: one entry per leaver).
    leaver_matrix = sparse.csr_matrix((np.ones(at.size), (unit[at], seen[at] - 1)), shape=(n_units, m))
    step = max(1, _PAIR_CHUNK // (m + 1))
    for first in range(0, n_units, step):
        last = min(first + step, n_units)
        rows = (stayer_unit >= first) & (stayer_unit < last)
        # below[b, k]: non-leavers of unit b below the k-th leaver risk, plus one half for a tie.
        below = np.bincount((stayer_unit[rows] - first) * (m + 1) + above[rows], minlength=(last - first) * (m + 1))
        below = np.cumsum(below.reshape(last - first, m + 1), axis=1)[:, :m].astype(float)
        both = rows & tied
        below += 0.5 * np.bincount((stayer_unit[both] - first) * m + above[both] - 1,
                                   minlength=(last - first) * m).reshape(last - first, m)
        counts[:, first:last] = leaver_matrix @ below.T
    return counts


class UnitTable:
    """One table's units: per-unit sums, the groups of the table, and their AUC pair counts.

    Parameters
    ----------
    unit_of_person, cell_of_unit : arrays
        From :func:`deal_units`.
    level_of_cell : array of int
        The level (``0..n_levels-1``, whatever the sector) of every cell.
    y, p, selected : arrays, one value per person
        Outcome (0/1), predicted risk, and the selection weight at the cut-off.
    by_risk : array of int, optional
        :func:`risk_order` of ``y`` and ``p`` (computed when not given; an audit of several
        tables sorts once).
    """

    def __init__(self, unit_of_person, cell_of_unit, level_of_cell, y, p, selected, by_risk=None):
        n_units = cell_of_unit.size
        leaver = y == 1
        columns = (None, y, p, selected, selected * y, selected * (1 - y))
        self.sums = np.column_stack([np.bincount(unit_of_person, weights=c, minlength=n_units) for c in columns])
        self.cell_of_unit = cell_of_unit
        self.cell_units = np.split(np.arange(n_units), np.flatnonzero(np.diff(cell_of_unit)) + 1)
        level_of_unit = np.asarray(level_of_cell)[cell_of_unit]
        self.level_units = [np.flatnonzero(level_of_unit == level) for level in range(int(level_of_unit.max()) + 1)]
        # Pair counts per level (across sectors); a cell's are the block of its own units.
        by_risk = risk_order(y, p) if by_risk is None else by_risk
        level_by_risk = _small_ints(level_of_unit[unit_of_person[by_risk]])
        by_level = by_risk[np.argsort(level_by_risk, kind="stable")]  # by level, then by risk
        bounds = np.searchsorted(level_of_unit[unit_of_person[by_level]], np.arange(len(self.level_units) + 1))
        local = np.empty(n_units, dtype=np.int64)
        self.level_pairs = []
        for level, units in enumerate(self.level_units):
            local[units] = np.arange(units.size)
            persons = by_level[bounds[level]:bounds[level + 1]]
            self.level_pairs.append(_pair_counts(local[unit_of_person[persons]], units.size, leaver[persons], p[persons]))
        self.cell_pairs = []
        for units in self.cell_units:
            level_units = self.level_units[level_of_unit[units[0]]]
            at = np.searchsorted(level_units, units)
            self.cell_pairs.append(self.level_pairs[level_of_unit[units[0]]][np.ix_(at, at)])

    def _metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric of every group (levels first, then cells) for each row of ``weights``."""
        groups = [(units, pairs) for units, pairs in zip(self.level_units, self.level_pairs)]
        groups += [(units, pairs) for units, pairs in zip(self.cell_units, self.cell_pairs)]
        sums = np.empty((weights.shape[0], len(groups), len(_SUMS)))
        concordant = np.empty((weights.shape[0], len(groups)))
        for g, (units, pairs) in enumerate(groups):
            w = weights[:, units]
            sums[:, g] = w @ self.sums[units]
            concordant[:, g] = np.einsum("ru,ru->r", w @ pairs, w)
        n, observed, expected, selected, selected_leavers, selected_stayers = np.moveaxis(sums, 2, 0)
        stayers = n - observed
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"n_persons": n, "observed": observed, "expected": expected,
                    "roc_auc": np.where((observed > 0) & (stayers > 0), concordant / (observed * stayers), np.nan),
                    "selection_rate": selected / n, "tpr": selected_leavers / observed,
                    "fpr": selected_stayers / stayers}

    def point(self) -> dict[str, np.ndarray]:
        """The metrics of the persons themselves (every unit once), levels first, then cells."""
        return {name: values[0] for name, values in self._metrics(np.ones((1, len(self.sums)))).items()}

    def bootstrap(self, n_boot: int, rng: np.random.Generator, quantiles=(0.025, 0.975)) -> dict:
        """Quantiles of the rated metrics over ``n_boot`` replicates: ``{metric: (n_q, n_groups)}``.

        A replicate resamples within every cell as many of its units as it has, with
        replacement, and weights the cell by a multinomial draw of its number of persons out of
        the table's (as a bootstrap over persons draws them). Units stand in for persons within a
        cell only: resampled across cells, a unit of a large cell would move thousands of
        persons of one sector at once and widen every interval that spans sectors.
        """
        n_units = len(self.sums)
        cell_start = np.array([units[0] for units in self.cell_units])
        cell_size = np.array([units.size for units in self.cell_units])
        persons = np.array([self.sums[units, 0].sum() for units in self.cell_units])
        slot_start, slot_size = cell_start[self.cell_of_unit], cell_size[self.cell_of_unit]
        replicates = {name: [] for name in RATED}
        # The products are small (a few hundred units a side): a second BLAS thread only waits,
        # and on a busy machine the waiting made them a hundred times slower.
        with threadpool_limits(1, user_api="blas"):
            for first in range(0, n_boot, _BLOCK):
                count = min(_BLOCK, n_boot - first)
                # Slot s of a replicate draws one of the units of the cell that unit s belongs to.
                drawn = slot_start + (rng.random((count, n_units)) * slot_size).astype(np.int64)
                drawn += np.arange(count)[:, None] * n_units
                draws = np.bincount(drawn.ravel(), minlength=count * n_units).reshape(count, n_units)
                cell_persons = rng.multinomial(int(persons.sum()), persons / persons.sum(), size=count)
                metrics = self._metrics(draws * (cell_persons / persons)[:, self.cell_of_unit])
                for name in RATED:
                    replicates[name].append(metrics[name])
        return {name: _quantiles(np.vstack(parts), quantiles) for name, parts in replicates.items()}


def _quantiles(values: np.ndarray, quantiles) -> np.ndarray:
    """``np.nanquantile`` over replicates (rows), vectorised for the columns without NaN."""
    result = np.full((len(quantiles), values.shape[1]), np.nan)
    complete = ~np.isnan(values).any(axis=0)
    result[:, complete] = np.quantile(values[:, complete], quantiles, axis=0)
    partial = np.flatnonzero(~complete & ~np.isnan(values).all(axis=0))  # a group without leavers has no interval
    if partial.size:
        result[:, partial] = np.nanquantile(values[:, partial], quantiles, axis=0)
    return result
