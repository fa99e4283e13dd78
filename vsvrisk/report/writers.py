"""Write an allocation as one folder a ministry can hand on: CSV, workbook, page, manifest.

The folder appears whole or not at all: everything is built in a temporary folder beside the
target and renamed at the end (:func:`vsvrisk._atomic.atomic_output`). Every table passes
disclosure control first: no person-level rows, small cells suppressed.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Border, Font, Side
from openpyxl.utils import get_column_letter

from vsvrisk._atomic import atomic_output
from vsvrisk.exceptions import AllocationError
from vsvrisk.report.disclosure import assert_no_person_rows, suppress_small_cells
from vsvrisk.report.html import column_kind, render_allocation_html
from vsvrisk.report.manifest import _jsonable, add_outputs, flatten_manifest, write_manifest

__all__ = ["write_allocation_outputs", "OUTPUT_FILES"]

OUTPUT_FILES = ("allocation.csv", "allocation.xlsx", "allocation.html", "manifest.json")

_REQUIRED = ("region_code", "region_name", "share", "amount_eur")
# Columns whose sum over the regions means something (a sum of quantiles or limits does not).
_ADDITIVE = ("n_persons", "need", "share", "amount_share", "amount_eur", "amount_unrounded_eur",
             "previous_eur", "change_eur")
_FORMATS = {"euro": '"€ "#,##0', "fraction": "0.00%", "percent_points": '0.0"%"',
            "count": "#,##0"}
# A fixed zip time: openpyxl stamps "now" into the workbook, which would make two runs with the
# same manifest differ byte for byte (and so in content_sha256).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


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


def _excel_value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True) if value else ""
    return value


def _put(sheet, row: int, column: int, value: Any):
    cell = sheet.cell(row=row, column=column, value=_excel_value(value))
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"  # text from a file must never run as a formula
    return cell


def _key_value_sheet(book: Workbook, title: str, pairs: list[tuple[str, Any]]) -> None:
    sheet = book.create_sheet(title)
    for column, head in enumerate(("Key", "Value"), start=1):
        _put(sheet, 1, column, head).font = Font(bold=True)
    for row, (key, value) in enumerate(pairs or [("(none given)", None)], start=2):
        _put(sheet, row, 1, key)
        _put(sheet, row, 2, value)
    sheet.freeze_panes = "A2"
    longest_key = max((len(key) for key, _ in pairs), default=0)
    sheet.column_dimensions["A"].width = min(60, max(12, longest_key + 2))
    sheet.column_dimensions["B"].width = 70


def _width(name: str, values: pd.Series, kind: str) -> float:
    if kind == "euro":
        longest = len(f"€ {values.abs().max():,.0f}") + 1 if values.notna().any() else 4
    elif kind in ("fraction", "percent_points"):
        longest = 8
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # As shown (#,##0.00), not as Python prints a float with all its digits.
        longest = len(f"{values.abs().max():,.2f}") + 1 if values.notna().any() else 4
    else:
        longest = int(values.astype(str).str.len().max()) if len(values) else 4
    return float(min(45, max(len(name), longest) + 3))


def _allocation_sheet(book: Workbook, table: pd.DataFrame) -> None:
    sheet = book.active
    sheet.title = "Allocation"
    columns = [str(name) for name in table.columns]
    for column, name in enumerate(columns, start=1):
        _put(sheet, 1, column, name).font = Font(bold=True)
    for row, values in enumerate(table.itertuples(index=False, name=None), start=2):
        for column, value in enumerate(values, start=1):
            _put(sheet, row, column, value)
    total_row = len(table) + 2
    label_column = columns.index("region_name") + 1
    suppressed = "suppressed" in table.columns and bool(table["suppressed"].any())
    label = "Total of the regions shown" if suppressed else "Total"
    _put(sheet, total_row, label_column, label).font = Font(bold=True)
    top = Border(top=Side(style="thin"))
    for column, name in enumerate(columns, start=1):
        kind = column_kind(name)
        values = table[name]
        if name in _ADDITIVE:
            total = values.sum()  # the visible cells: a suppressed cell adds nothing
            _put(sheet, total_row, column, int(total) if kind in ("euro", "count")
                 and float(total).is_integer() else float(total)).font = Font(bold=True)
        sheet.cell(row=total_row, column=column).border = top
        number_format = _FORMATS.get(kind)
        if number_format is None and pd.api.types.is_float_dtype(values):
            number_format = "#,##0.00"
        if number_format:
            for row in range(2, total_row + 1):
                sheet.cell(row=row, column=column).number_format = number_format
        sheet.column_dimensions[get_column_letter(column)].width = _width(name, values, kind)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{total_row - 1}"


def _reproducible_xlsx(data: bytes, stamp: str) -> bytes:
    """Fix the zip times and the workbook's created/modified stamp to the manifest's time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                                 rb"\g<1>" + stamp.encode("ascii"), content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            out.writestr(entry, content, compress_type=zipfile.ZIP_DEFLATED)
    return target.getvalue()


def _write_xlsx(table: pd.DataFrame, path: Path, *, rules: Mapping[str, Any],
                manifest: Mapping[str, Any]) -> None:
    book = Workbook()
    _allocation_sheet(book, table)
    _key_value_sheet(book, "Rules", flatten_manifest(rules))
    # The workbook cannot hold its own hash: the sheet shows the manifest without outputs.
    shown = {k: v for k, v in manifest.items() if k not in ("outputs", "content_sha256")}
    _key_value_sheet(book, "Manifest", flatten_manifest(shown))
    buffer = io.BytesIO()
    book.save(buffer)
    stamp = str(manifest.get("created_utc"))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp):
        stamp = "1980-01-01T00:00:00Z"  # only a plain UTC time may go into the XML
    path.write_bytes(_reproducible_xlsx(buffer.getvalue(), stamp))


def write_allocation_outputs(
    folder: str | os.PathLike,
    allocation: pd.DataFrame,
    manifest: Mapping[str, Any],
    *,
    rules: Mapping[str, Any] | Any | None = None,
    drivers: pd.DataFrame | None = None,
    chart_title: str = "Budget per region",
    overwrite: bool = False,
    disclosure_threshold: int = 10,
    count_column: str = "n_persons",
) -> Path:
    """Write ``allocation.csv``, ``.xlsx``, ``.html`` and ``manifest.json`` into one folder.

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
        Drivers per region for the page (see :func:`vsvrisk.report.render_allocation_html`).
    chart_title : str, default="Budget per region"
        Title of the page.
    overwrite : bool, default=False
        Replace an existing folder.
    disclosure_threshold : int, default=10
        A table with ``count_column`` has rows of fewer persons suppressed (DESIGN section 11).
    count_column : str, default="n_persons"
        The count that disclosure control looks at; a table without it is not suppressed.

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
    ['allocation.csv', 'allocation.html', 'allocation.xlsx', 'manifest.json']
    """
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
        _write_xlsx(table, tmp / "allocation.xlsx", rules=rules_dict, manifest=manifest)
        # The budget comes from the table before suppression: it is public, and the sum of the
        # rows shown would fall short of it.
        budget = rules_dict.get("budget_eur") or int(allocation["amount_eur"].sum())
        page = render_allocation_html(table, manifest, rules=rules_dict, drivers=shown_drivers,
                                      title=chart_title, budget=budget)
        (tmp / "allocation.html").write_text(page, encoding="utf-8")
        outputs = {name: tmp / name for name in OUTPUT_FILES[:-1]}
        write_manifest(add_outputs(manifest, outputs), tmp / "manifest.json")
    return Path(folder)
