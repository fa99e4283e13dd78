"""Write an allocation as one folder a ministry can hand on: CSV, workbook, pages, manifest.

The folder appears whole or not at all: everything is built in a temporary folder beside the
target and renamed at the end (:func:`vsvrisk._atomic.atomic_output`). Every table passes
disclosure control first: no person-level rows, small cells suppressed.

The CSV keeps machine names; the workbook and the pages speak the reader's language (Dutch by
default): labelled headers from the glossary, a sheet per purpose (amounts, rules, data
dictionary, manifest), each set to print on A4.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vsvrisk._atomic import atomic_output
from vsvrisk.exceptions import AllocationError
from vsvrisk.report.disclosure import assert_no_person_rows, suppress_small_cells
from vsvrisk.report.glossary import glossary
from vsvrisk.report.html import column_kind, region_page_name, render_allocation_html
from vsvrisk.report.manifest import _jsonable, add_outputs, write_manifest
from vsvrisk.report.region import driver_euros, render_region_html
from vsvrisk.report.workbook import write_workbook

__all__ = ["write_allocation_outputs", "OUTPUT_FILES", "REGION_PAGES"]

OUTPUT_FILES = ("allocation.csv", "allocation.xlsx", "allocation.html", "manifest.json")
#: Beside them, one page per region: ``regio-01.html`` ... ``regio-40.html``.
REGION_PAGES = "regio-{code:02d}.html"

_REQUIRED = ("region_code", "region_name", "share", "amount_eur")


def _protect(table: pd.DataFrame, threshold: int, count_column: str) -> pd.DataFrame:
    assert_no_person_rows(table)
    if count_column in table.columns:
        return suppress_small_cells(table, count_column=count_column, threshold=threshold)
    return table


def _check_allocation(allocation: pd.DataFrame) -> None:
    missing = [name for name in _REQUIRED if name not in allocation.columns]
    if missing:
        raise AllocationError(f"the allocation table lacks column(s) {missing}: pass the table "
                              f"that vsvrisk.allocate.allocate returns")
    amounts = pd.to_numeric(allocation["amount_eur"], errors="coerce").dropna()
    if not np.allclose(amounts, np.round(amounts), rtol=0, atol=1e-6):
        raise AllocationError("amount_eur holds fractions of a euro: round the allocation to "
                              "whole euros (allocate does this by largest remainder)")


def _whole_euros(table: pd.DataFrame) -> pd.DataFrame:
    """Write euro and count columns as integers where they are whole (a CSV shows 12, not 12.0)."""
    table = table.copy()
    for name in table.columns:
        values = table[name]
        if column_kind(str(name)) not in ("euro", "count") \
                or not pd.api.types.is_numeric_dtype(values):
            continue
        known = values.dropna().to_numpy(dtype=float)
        # amount_eur was checked to be whole (up to float noise) by _check_allocation.
        if name == "amount_eur" or (np.all(np.isfinite(known))
                                    and np.array_equal(known, np.round(known))):
            table[name] = values.round().astype("Int64")
    return table


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    # pandas writes floats at full round-trip precision, so a share can be recomputed exactly;
    # missing values are empty fields.
    table.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", na_rep="")


def _rate(allocation: pd.DataFrame, manifest: Mapping[str, Any], rules: Mapping[str, Any]) -> float:
    """Euros per unit of need share: lambda times the national need (the variable budget)."""
    lam = allocation.attrs.get("lambda", (manifest.get("extra") or {}).get("lambda"))
    if lam is not None and "need" in allocation.columns:
        return float(lam) * float(allocation["need"].sum())
    return float((rules.get("budget_eur") or allocation["amount_eur"].sum())
                 - len(allocation) * (rules.get("base_amount_eur") or 0))


def _region_pages(folder: Path, table: pd.DataFrame, manifest: Mapping[str, Any], rules: Mapping[str, Any],
                  drivers: pd.DataFrame | None, rate: float, lang: str, index: str | None) -> list[str]:
    """Write ``regio-XX.html`` for every region; return their names."""
    euros = None if drivers is None else driver_euros(drivers, rate)
    pupils = table["n_persons"] / table["n_persons"].sum() if "n_persons" in table.columns else None
    names = []
    for position, row in enumerate(table.to_dict("records")):
        code = int(row["region_code"])
        mine = None if euros is None else euros[euros["region_code"] == code]
        share = None if pupils is None or pd.isna(pupils.iloc[position]) else float(pupils.iloc[position])
        html = render_region_html(row, manifest, rules=rules, pupil_share=share, drivers=mine, lang=lang,
                                  index=None if index is None else f"{index}")
        name = region_page_name(code)
        (folder / name).write_text(html, encoding="utf-8")
        names.append(name)
    return names


def write_allocation_outputs(
    folder: str | os.PathLike,
    allocation: pd.DataFrame,
    manifest: Mapping[str, Any],
    *,
    rules: Mapping[str, Any] | Any | None = None,
    drivers: pd.DataFrame | None = None,
    chart_title: str | None = None,
    overwrite: bool = False,
    disclosure_threshold: int = 10,
    count_column: str = "n_persons",
    lang: str = "nl",
    index: str | None = None,
) -> Path:
    """Write ``allocation.csv``, ``.xlsx``, ``.html``, a page per region and ``manifest.json``.

    All or nothing: the files are written into a temporary folder beside ``folder`` and it is
    renamed at the end; if anything fails, no folder and no partial file remain.
    ``manifest.json`` is written last and holds the SHA-256 of each other file and one
    ``content_sha256`` over them. The same inputs and manifest give byte-identical files.

    Parameters
    ----------
    folder : path-like
        The output folder; it must not exist unless ``overwrite``.
    allocation : DataFrame
        ``region_code``, ``region_name``, ``share`` and ``amount_eur`` (whole euros) at least;
        every other column is written too, in the order given (CSV and workbook) and shown on
        the page where it has a place (change, intervals, chance, ``binding``).
    manifest : mapping
        From :func:`vsvrisk.report.build_manifest`; the writer adds ``outputs``,
        ``content_sha256`` and ``disclosure``.
    rules : mapping or pydantic model, optional
        The allocation rules, written to the "Rules" sheet and used in the page's explanation.
    drivers : DataFrame, optional
        Why each region's need differs from the nation's, for the region pages: long,
        ``region_code``, ``term``, ``contribution_share`` (as
        :func:`vsvrisk.explain.regional_decomposition` gives it; ``n_persons`` is used for
        disclosure control). Shown in euros at this allocation's rate.
    chart_title : str, optional
        Title of the page (default: "Budget per regio" / "Budget per region").
    overwrite : bool, default=False
        Replace an existing folder.
    disclosure_threshold : int, default=10
        A table with ``count_column`` has rows of fewer persons suppressed (DESIGN section 11).
    count_column : str, default="n_persons"
        The count that disclosure control looks at; a table without it is not suppressed.
    lang : {"nl", "en"}, default="nl"
        The language of the workbook and the pages (the CSV keeps machine names).
    index : str, optional
        A relative link from the pages to the output's index page (e.g. ``"../index.html"``).

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    OutputExistsError
        If ``folder`` exists and ``overwrite`` is false.
    DisclosureError
        If a table has a ``person_id`` column.
    AllocationError
        If a required column is missing or amounts are not whole euros.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> table = pd.DataFrame({"region_code": [1, 2], "region_name": ["A", "B"],
    ...                       "need": [1.0, 3.0], "share": [0.25, 0.75], "amount_eur": [25, 75]})
    >>> out = write_allocation_outputs(pathlib.Path(tempfile.mkdtemp()) / "run", table,
    ...                                {"created_utc": "2025-01-01T00:00:00Z"})
    >>> sorted(p.name for p in out.iterdir())
    ['allocation.csv', 'allocation.html', 'allocation.xlsx', 'manifest.json', 'regio-01.html', 'regio-02.html']
    """
    g = glossary(lang)  # an unknown language is refused before anything is written
    _check_allocation(allocation)
    rules_dict = _jsonable(rules) or {}
    shown = _protect(allocation, disclosure_threshold, count_column)
    shown_drivers = None if drivers is None else _protect(drivers, disclosure_threshold,
                                                          count_column)
    manifest = dict(manifest)
    manifest["disclosure"] = {
        "threshold": disclosure_threshold, "count_column": count_column,
        "suppressed_rows": {name: int(table["suppressed"].sum()) if table is not None
                            and "suppressed" in table.columns else 0
                            for name, table in (("allocation", shown),
                                                ("drivers", shown_drivers))},
    }
    table = _whole_euros(shown)
    with atomic_output(folder, overwrite=overwrite) as tmp:
        tmp.mkdir()
        _write_csv(table, tmp / "allocation.csv")
        write_workbook(table, tmp / "allocation.xlsx", rules=rules_dict, manifest=manifest, g=g)
        # The budget comes from the table before suppression: it is public, and the sum of the
        # rows shown would fall short of it.
        budget = rules_dict.get("budget_eur") or int(allocation["amount_eur"].sum())
        page = render_allocation_html(table, manifest, rules=rules_dict, title=chart_title, budget=budget,
                                      lang=lang, index=index)
        (tmp / "allocation.html").write_text(page, encoding="utf-8")
        pages = _region_pages(tmp, table, manifest, rules_dict, shown_drivers,
                              _rate(allocation, manifest, rules_dict), lang, index)
        outputs = {name: tmp / name for name in (*OUTPUT_FILES[:-1], *pages)}
        write_manifest(add_outputs(manifest, outputs), tmp / "manifest.json")
    return Path(folder)
