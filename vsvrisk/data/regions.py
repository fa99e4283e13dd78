"""The catalogue of the 40 RMC / Doorstroompunt regions (DESIGN section 6), as package data.

``population_k`` is an approximate population in thousands, used only to weight regions in
the synthetic generator; it is not an official figure.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import pandas as pd

from vsvrisk.data.codes import REGION_CODES

__all__ = ["regions", "region_names", "REGION_CODES"]


@lru_cache(maxsize=1)
def _catalogue() -> pd.DataFrame:
    with files("vsvrisk.data").joinpath("regions.csv").open(encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"region_code": "int64", "population_k": "int64"})
    table["region_name"] = table["region_name"].astype("string")
    return table


def regions() -> pd.DataFrame:
    """Return the region catalogue: ``region_code``, ``region_name``, ``population_k``.

    Returns
    -------
    DataFrame
        40 rows, ordered by ``region_code`` (DUO numbering, 1..40). Region 14 (Arnhem / De
        Liemers) and 40 (Rijk van Nijmegen) are the two halves of the region split in 2020.

    Examples
    --------
    >>> table = regions()
    >>> len(table), table.loc[table.region_code == 29, "region_name"].item()
    (40, 'Rijnmond')
    """
    return _catalogue().copy()


def region_names() -> dict[int, str]:
    """Map each region code to its name.

    Examples
    --------
    >>> region_names()[21]
    'Agglomeratie Amsterdam'
    """
    table = _catalogue()
    return dict(zip(table["region_code"].tolist(), table["region_name"].tolist()))
