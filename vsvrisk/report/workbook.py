"""The allocation as a workbook a civil servant reads: a sheet per purpose, labelled, on A4.

Sheets: the amounts (labelled headers, euros and percentages formatted, a total row), the rules
(every rule as applied, the scenario, the previous allocation and its hash), the data dictionary
(what each column of allocation.csv means) and the manifest. Labels come from the glossary, in
the language asked for; number formats are Excel's own, so Dutch Excel shows 7.102.495 and
English Excel 7,102,495 from the same file. Each sheet prints on A4, one page wide.

The file is reproducible: the zip times and the workbook's stamps are fixed to the manifest's
time, so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from vsvrisk.report.dictionary import data_dictionary
from vsvrisk.report.glossary import MANIFEST_KEYS, Glossary
from vsvrisk.report.html import chance_threshold, column_kind
from vsvrisk.report.manifest import flatten_manifest
from vsvrisk.report.story import scenario_text, story_facts

__all__ = ["write_workbook", "SHEETS"]

#: The sheets, per language: amounts, rules, data dictionary, manifest.
SHEETS = {"nl": ("Bedragen", "Regels", "Gegevenswoordenboek", "Manifest"),
          "en": ("Amounts", "Rules", "Data dictionary", "Manifest")}
# Columns whose sum over the regions means something (a sum of quantiles or limits does not).
_ADDITIVE = ("n_persons", "need", "share", "amount_share", "amount_eur", "amount_unrounded_eur",
             "previous_eur", "change_eur")
_FORMATS = {"euro": '"€ "#,##0', "fraction": "0.00%", "percent_points": '0.0"%"', "count": "#,##0"}
# A fixed zip time: openpyxl stamps "now" into the workbook, which would make two runs with the
# same manifest differ byte for byte (and so in content_sha256).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Columns a reader rarely needs: kept in the sheet, but folded away (Excel's + opens them) so that
#: the amounts print legibly on one A4 page.
_FOLDED = ("amount_share", "lower_eur", "upper_eur", "amount_unrounded_eur", "share_low", "share_high",
           "p_decrease_above", "suppressed")
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


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


def _a4(sheet, landscape: bool) -> None:
    """Print on A4, one page wide, the header row on every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.page_margins.left = sheet.page_margins.right = 0.5


def _header(sheet, heads: list[str]) -> None:
    for column, head in enumerate(heads, start=1):
        cell = _put(sheet, 1, column, head)
        cell.font, cell.alignment = _BOLD, _WRAP
    sheet.freeze_panes = "A2"


def _width(label: str, values: pd.Series, kind: str) -> float:
    if kind == "euro":
        longest = len(f"€ {values.abs().max():,.0f}") + 1 if values.notna().any() else 4
    elif kind in ("fraction", "percent_points"):
        longest = 8
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        longest = len(f"{values.abs().max():,.2f}") + 1 if values.notna().any() else 4
    else:
        longest = int(values.astype(str).str.len().max()) if len(values) else 4
    # Headers wrap: a long label needs no wider column than half of it.
    return float(min(40, max(min(len(label), 16), longest) + 2))


def _labels(columns: list[str], g: Glossary, chance: float | None) -> list[str]:
    labels = []
    for name in columns:
        base = name.removeprefix("model_")
        if base in ("p_change_above", "p_decrease_above") and chance is not None:
            what = {"p_change_above": g.pick("verandering", "change"), "p_decrease_above": g.pick("daling", "fall")}[base]
            label = g.pick(f"Kans op > {g.number(chance, 1)}% {what}", f"Chance of > {g.number(chance, 1)}% {what}")
            labels.append(label + (" (model)" if name != base else ""))
        else:
            labels.append(g.column(name))
    return labels


def _amounts_sheet(book: Workbook, table: pd.DataFrame, g: Glossary, chance: float | None, title: str) -> None:
    sheet = book.active
    sheet.title = title
    columns = [str(name) for name in table.columns]
    _header(sheet, _labels(columns, g, chance))
    for row, values in enumerate(table.itertuples(index=False, name=None), start=2):
        for column, value in enumerate(values, start=1):
            if columns[column - 1] == "binding" and isinstance(value, str):
                value = g.rule(value)
            _put(sheet, row, column, value)
    total_row = len(table) + 2
    label_column = columns.index("region_name") + 1
    suppressed = "suppressed" in table.columns and bool(table["suppressed"].any())
    label = g.pick("Totaal van de getoonde regio’s", "Total of the regions shown") if suppressed else g.pick("Totaal", "Total")
    _put(sheet, total_row, label_column, label).font = _BOLD
    top = Border(top=Side(style="thin"))
    for column, (name, head) in enumerate(zip(columns, _labels(columns, g, chance)), start=1):
        kind = column_kind(name)
        values = table[name]
        if name in _ADDITIVE:
            total = values.sum()  # the visible cells: a suppressed cell adds nothing
            _put(sheet, total_row, column, int(total) if kind in ("euro", "count")
                 and float(total).is_integer() else float(total)).font = _BOLD
        sheet.cell(row=total_row, column=column).border = top
        number_format = _FORMATS.get(kind)
        if number_format is None and pd.api.types.is_float_dtype(values):
            number_format = "#,##0.00"
        if number_format:
            for row in range(2, total_row + 1):
                sheet.cell(row=row, column=column).number_format = number_format
        dimension = sheet.column_dimensions[get_column_letter(column)]
        dimension.width = _width(head, values, kind)
        if name in _FOLDED or name.startswith("model_"):
            dimension.outlineLevel, dimension.hidden = 1, True
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{total_row - 1}"
    _a4(sheet, landscape=True)


def _rows_sheet(book: Workbook, title: str, heads: list[str], rows: list[tuple], widths: tuple) -> None:
    sheet = book.create_sheet(title)
    _header(sheet, heads)
    for row, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            cell = _put(sheet, row, column, value)
            cell.alignment = _WRAP
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    _a4(sheet, landscape=False)


def _rule_rows(rules: Mapping[str, Any], manifest: Mapping[str, Any], g: Glossary, chance: float | None) -> list[tuple]:
    config = {**(manifest.get("config") or {}), **rules}
    story = (manifest.get("extra") or {}).get("story") or {}
    applied = (story.get("rules") or {})
    band = applied.get("max_change") if applied else rules.get("max_change")
    inputs = manifest.get("inputs") or {}
    rows = [(g.pick("Budget", "Budget"), g.euro(config.get("budget_eur")), "budget_eur"),
            (g.pick("Basisbedrag per regio", "Base amount per region"), g.euro(config.get("base_amount_eur") or 0),
             "base_amount_eur"),
            (g.pick("Minimumbedrag", "Minimum amount"), g.euro(config.get("floor_eur") or 0), "floor_eur"),
            (g.pick("Demping: grootste verandering tegen vorig jaar", "Dampening: largest change against last year"),
             g.percent(band, 0) if band else g.pick("niet toegepast (geen vorig jaar)", "not applied (no previous year)"),
             "max_change"),
            (g.pick("Scenario", "Scenario"), scenario_text(applied.get("scenario", config.get("scenario"))
                                                           if applied else config.get("scenario"), g), "scenario")]
    for key, (nl, en) in (("previous", ("Verdeling vorig jaar", "Last year's allocation")),
                          ("need", ("Behoeftetabel", "Need table")), ("data", ("Cohort", "Cohort"))):
        info = inputs.get(key)
        if info:
            rows += [(g.pick(f"{nl}: bestand", f"{en}: file"), info.get("path"), key),
                     (g.pick(f"{nl}: sha256", f"{en}: sha256"), info.get("sha256"), key)]
        elif key == "previous":
            rows.append((g.pick(f"{nl}: bestand", f"{en}: file"), g.pick("geen", "none"), key))
    rows.append((g.pick("Drempel voor ‘grote verandering’", "Threshold of a ‘large change’"),
                 f"{g.number(chance, 1)}%" if chance is not None else
                 g.pick("niet getoond: de demping houdt elke verandering eronder", "not shown: the band keeps every change below it")
                 if config.get("change_threshold_pct") is not None and band else g.pick("geen vorig jaar", "no previous year"),
                 "change_threshold_pct"))
    for key, (nl, en) in (("interval_level", ("Zekerheid van de intervallen", "Coverage of the intervals")),
                          ("n_bootstrap", ("Trekkingen voor de intervallen", "Bootstrap replicates")),
                          ("n_model_refits", ("Hergeschatte modellen", "Model refits")),
                          ("seed", ("Seed", "Seed")),
                          ("disclosure_threshold", ("Onthullingsdrempel (leerlingen)", "Disclosure threshold (pupils)"))):
        if key in config:
            value = g.percent(config[key], 0) if key == "interval_level" else config[key]
            rows.append((g.pick(nl, en), value, key))
    rows += [(label, text, "") for label, text in story_facts({k: v for k, v in story.items() if k != "rules"}, g)]
    return rows


def _manifest_rows(manifest: Mapping[str, Any], g: Glossary) -> list[tuple]:
    # The workbook cannot hold its own hash: the sheet shows the manifest without outputs.
    shown = {k: v for k, v in manifest.items() if k not in ("outputs", "content_sha256")}
    rows = []
    for key, value in flatten_manifest(shown):
        parts = key.split(".")
        words = [MANIFEST_KEYS.get(part, (part.replace("_", " "),) * 2)[g.index] for part in parts]
        rows.append((" › ".join(words), value, key))
    return rows




def write_workbook(table: pd.DataFrame, path: Path, *, rules: Mapping[str, Any], manifest: Mapping[str, Any],
                   g: Glossary) -> None:
    """Write ``allocation.xlsx``: amounts, rules, data dictionary and manifest, each on A4."""
    chance = chance_threshold(rules, manifest)
    if chance is None:  # a chance that is 0 by construction (or absent) is not shown
        table = table.drop(columns=[c for c in table.columns
                                    if c.removeprefix("model_") in ("p_change_above", "p_decrease_above")])
    amounts, rules_title, dictionary_title, manifest_title = SHEETS[g.lang]
    book = Workbook()
    _amounts_sheet(book, table, g, chance, amounts)
    _rows_sheet(book, rules_title, [g.pick("Regel", "Rule"), g.pick("Waarde", "Value"),
                                    g.pick("Sleutel in de configuratie", "Key in the config")],
                _rule_rows(rules, manifest, g, chance), (46, 60, 24))
    words = data_dictionary(table.columns, g)
    _rows_sheet(book, dictionary_title, [g.pick("Kolom in allocation.csv", "Column in allocation.csv"),
                                         g.pick("Label", "Label"), g.pick("Betekenis", "Meaning")],
                list(words.itertuples(index=False, name=None)), (24, 30, 80))
    _rows_sheet(book, manifest_title, [g.pick("Onderdeel", "Item"), g.pick("Waarde", "Value"),
                                       g.pick("Sleutel in manifest.json", "Key in manifest.json")],
                _manifest_rows(manifest, g), (46, 60, 40))
    buffer = io.BytesIO()
    book.save(buffer)
    stamp = str(manifest.get("created_utc"))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp):
        stamp = "1980-01-01T00:00:00Z"  # only a plain UTC time may go into the XML
    path.write_bytes(_reproducible(buffer.getvalue(), stamp))


def _reproducible(data: bytes, stamp: str) -> bytes:
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
