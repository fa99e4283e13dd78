"""The output folder: four files and a page per region, all or nothing, formats a ministry can hand on."""

from __future__ import annotations

import hashlib
import html
import json
import re
from html.parser import HTMLParser

import numpy as np
import openpyxl
import pandas as pd
import pytest

from vsvrisk.data.regions import regions
from vsvrisk.exceptions import AllocationError, OutputExistsError
from vsvrisk.report import OUTPUT_FILES, DisclosureError, write_allocation_outputs
from vsvrisk.report import writers

BUDGET = 26_000_000


def _allocation(optional: bool = True) -> pd.DataFrame:
    """A hand-made allocation shaped like allocate's, amounts adding up to the budget."""
    rng = np.random.default_rng(3)
    table = regions()[["region_code", "region_name"]]
    table["need"] = rng.gamma(3.0, 60.0, len(table))
    table["share"] = table["need"] / table["need"].sum()
    amounts = np.floor(table["share"].to_numpy() * BUDGET).astype("int64")
    amounts[0] += BUDGET - amounts.sum()
    table["amount_eur"] = amounts
    if optional:
        table["previous_eur"] = (amounts * rng.uniform(0.95, 1.05, len(table))).round()
        table["change_eur"] = table["amount_eur"] - table["previous_eur"]
        table["change_pct"] = 100 * table["change_eur"] / table["previous_eur"]
        table["lower_eur"] = table["previous_eur"] * 0.95
        table["upper_eur"] = table["previous_eur"] * 1.05
        table["binding"] = ["none", "floor", "lower_band", "upper_band"] * 10
        table["share_low"] = table["share"] * 0.9
        table["share_high"] = table["share"] * 1.1
        table["amount_low"] = (table["amount_eur"] * 0.9).round()
        table["amount_high"] = (table["amount_eur"] * 1.1).round()
        table["p_change_above"] = rng.uniform(0, 1, len(table))
    return table


MANIFEST = {"vsvrisk_version": "0.1.0", "created_utc": "2026-01-02T03:04:05Z", "seed": 1,
            "model_run_id": "run-1", "versions": {"python": "3.11"},
            "inputs": {"need": {"path": "need.csv", "sha256": "ab" * 32, "size_bytes": 10}},
            "config": {"budget_eur": BUDGET}, "outputs": {}, "content_sha256": None}
RULES = {"budget_eur": BUDGET, "floor_eur": 150_000, "max_change": 0.05}
#: Every file of the folder: the four and a page per region.
ALL_FILES = sorted([*OUTPUT_FILES, *(f"regio-{code:02d}.html" for code in range(1, 41))])


def _drivers() -> pd.DataFrame:
    """The regional decomposition's terms, as fractions of need share (one with markup in its name)."""
    return pd.DataFrame([(code, term, 0.001 * (i + 1) * (-1) ** i) for code in range(1, 41)
                         for i, term in enumerate(["age", "income <low>", "model_group_mix"])],
                        columns=["region_code", "term", "contribution_share"])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("out") / "allocation-2026"
    write_allocation_outputs(folder, _allocation(), MANIFEST, rules=RULES, drivers=_drivers())
    return folder


def test_all_four_files_a_page_per_region_and_nothing_else(written):
    assert sorted(p.name for p in written.iterdir()) == ALL_FILES


def test_csv_reads_back_the_same_values_in_the_same_order(written):
    table = _allocation()
    back = pd.read_csv(written / "allocation.csv")
    assert list(back.columns) == list(table.columns)
    assert back["amount_eur"].dtype == "int64" and back["amount_eur"].sum() == BUDGET
    assert back["previous_eur"].dtype == "int64"  # whole euros are written as integers
    for name in ("need", "share", "change_pct", "lower_eur", "share_low", "p_change_above"):
        assert back[name].tolist() == table[name].tolist(), name  # exact: full precision
    assert back["region_name"].tolist() == table["region_name"].tolist()
    first = (written / "allocation.csv").read_text(encoding="utf-8").splitlines()[1]
    assert re.match(r"1,Oost-Groningen,[\d.]+,[\d.]+,\d+,\d+,", first), "no 123.0 for euros"


def test_workbook_has_labelled_formats_a_total_and_a_sheet_per_purpose(written):
    book = openpyxl.load_workbook(written / "allocation.xlsx")
    assert book.sheetnames == ["Bedragen", "Regels", "Gegevenswoordenboek", "Manifest"]
    sheet = book["Bedragen"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:6] == ["Code", "Regio", "Behoefte", "Aandeel behoefte", "Bedrag", "Vorig jaar"]
    assert "Kans op > 2,5% verandering" not in headers and "Vastgehouden door" in headers
    assert not [h for h in headers if "_" in h], "no machine names as headers"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    amount = headers.index("Bedrag") + 1
    share = headers.index("Aandeel behoefte") + 1
    assert "€" in sheet.cell(row=2, column=amount).number_format
    assert "%" in sheet.cell(row=2, column=share).number_format
    assert sheet.column_dimensions["B"].width >= len("Centraal en Westelijk Groningen")
    total_row = 42
    assert sheet.cell(row=total_row, column=headers.index("Regio") + 1).value == "Totaal"
    total = sheet.cell(row=total_row, column=amount).value
    assert total == sum(sheet.cell(row=r, column=amount).value for r in range(2, 42)) == BUDGET
    assert "€" in sheet.cell(row=total_row, column=amount).number_format
    held = headers.index("Vastgehouden door") + 1
    assert [sheet.cell(row=r, column=held).value for r in range(2, 6)] == [
        "behoefte", "minimumbedrag", "grootste daling", "grootste stijging"]
    # the limits and the unrounded amount are folded away (Excel's + opens them): the amounts print legibly
    from openpyxl.utils import get_column_letter
    hidden = {h for k, h in enumerate(headers, start=1) if sheet.column_dimensions[get_column_letter(k)].hidden}
    assert hidden == {"Ondergrens", "Bovengrens", "Aandeel behoefte, laag", "Aandeel behoefte, hoog"}
    for name in book.sheetnames:  # every sheet prints on A4, one page wide
        setup = book[name].page_setup
        assert int(setup.paperSize) == 9 and setup.fitToWidth == 1, name  # 9: A4
        assert book[name].sheet_properties.pageSetUpPr.fitToPage, name
    rules = {row[2]: row[1] for row in book["Regels"].iter_rows(min_row=2, values_only=True)}
    assert rules["budget_eur"] == "€\u00a026.000.000" and rules["max_change"] == "5%"
    assert rules["floor_eur"] == "€\u00a0150.000"
    words = {row[0]: row[1:] for row in book["Gegevenswoordenboek"].iter_rows(min_row=2, values_only=True)}
    assert list(words) == [c for c in _allocation().columns if c != "p_change_above"]
    assert words["binding"][0] == "Vastgehouden door" and "regel" in words["binding"][1]
    facts = {row[2]: row[1] for row in book["Manifest"].iter_rows(min_row=2, values_only=True)}
    assert facts["model_run_id"] == "run-1"
    assert facts["inputs.need.sha256"] == "ab" * 32
    assert facts["disclosure.threshold"] == 10
    labels = [row[0] for row in book["Manifest"].iter_rows(min_row=2, values_only=True)]
    assert not [label for label in labels if "_" in label]


def test_the_chance_of_a_change_shows_only_where_it_can_be_non_zero(tmp_path):
    manifest = {**MANIFEST, "extra": {"intervals": {"level": 0.9, "change_threshold_pct": 2.5}}}
    folder = write_allocation_outputs(tmp_path / "out", _allocation(), manifest, rules=RULES)
    headers = [cell.value for cell in openpyxl.load_workbook(folder / "allocation.xlsx")["Bedragen"][1]]
    assert "Kans op > 2,5% verandering" in headers
    assert "Kans op &gt; 2,5% verandering" in (folder / "allocation.html").read_text(encoding="utf-8")
    wide = write_allocation_outputs(tmp_path / "wide", _allocation(), {**manifest, "extra": {
        "intervals": {"change_threshold_pct": 5.0}}}, rules=RULES)  # the band is 5%: 0 by construction
    assert "Kans op" not in (wide / "allocation.html").read_text(encoding="utf-8")


class _Checker(HTMLParser):
    """Track open tags; fail on a closing tag that does not match."""

    VOID = {"meta", "br", "img", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.refs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.refs += [value for name, value in attrs if name in ("src", "href", "xlink:href")]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.refs += [value for name, value in attrs if name in ("src", "href", "xlink:href")]

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_page_is_self_contained_well_formed_and_names_every_region(written):
    page = (written / "allocation.html").read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    assert page.count("<table") == page.count("</table>") >= 2
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert all(not ref.startswith(("http", "//")) for ref in checker.refs)
    assert "<script" not in page.lower() and "@import" not in page
    text = html.unescape("".join(checker.text))
    for name in regions()["region_name"]:
        assert name in text, name
    assert "€\u00a026.000.000" in text and "<svg" in page
    assert "abababababab" in text  # manifest summary, hash shortened
    region = (written / "regio-02.html").read_text(encoding="utf-8")
    assert "income &lt;low&gt;" in region and "income <low>" not in region  # escaped, not markup


def test_manifest_is_last_and_holds_the_hash_of_every_other_file(written):
    manifest = json.loads((written / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["outputs"]) == set(ALL_FILES) - {"manifest.json"}
    for name, info in manifest["outputs"].items():
        assert info["sha256"] == hashlib.sha256((written / name).read_bytes()).hexdigest()
    assert manifest["content_sha256"] and manifest["seed"] == 1
    assert MANIFEST["outputs"] == {}, "the caller's manifest must not be changed"


def test_same_inputs_give_byte_identical_files(written, tmp_path):
    again = write_allocation_outputs(tmp_path / "again", _allocation(), MANIFEST, rules=RULES,
                                     drivers=_drivers())
    for name in ALL_FILES:
        assert (again / name).read_bytes() == (written / name).read_bytes(), name


def test_a_table_without_optional_columns_is_written(tmp_path):
    folder = write_allocation_outputs(tmp_path / "plain", _allocation(optional=False), MANIFEST)
    page = (folder / "allocation.html").read_text(encoding="utf-8")
    assert "Verandering tegen vorig jaar" not in page and "Rijnmond" in page
    rules = {row[2]: row[1] for row in openpyxl.load_workbook(folder / "allocation.xlsx")["Regels"].iter_rows(
        min_row=2, values_only=True)}
    assert rules["max_change"] == "niet toegepast (geen vorig jaar)" and rules["budget_eur"] == "€\u00a026.000.000"


def test_a_failure_midway_leaves_no_folder_and_no_temporary_files(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers, "write_workbook", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_allocation_outputs(tmp_path / "out", _allocation(), MANIFEST)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_refused_unless_overwrite(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_allocation_outputs(folder, _allocation(), MANIFEST)
    assert (folder / "old.txt").exists()
    write_allocation_outputs(folder, _allocation(), MANIFEST, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ALL_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("which", ["allocation", "drivers"])
def test_a_table_with_person_ids_is_refused_and_nothing_is_written(tmp_path, which):
    allocation = _allocation(optional=False)
    drivers = pd.DataFrame({"region_code": [1], "term": ["age"], "contribution_share": [0.1]})
    if which == "allocation":
        allocation["person_id"] = range(len(allocation))
    else:
        drivers["person_id"] = [123]
    with pytest.raises(DisclosureError, match="person_id"):
        write_allocation_outputs(tmp_path / "out", allocation, MANIFEST, drivers=drivers)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "change, message",
    [(lambda t: t.drop(columns="amount_eur"), "amount_eur"),
     (lambda t: t.assign(amount_eur=t["amount_eur"] + 0.5), "whole euros")],
    ids=["amounts missing", "amounts with cents"],
)
def test_a_bad_allocation_table_is_refused(tmp_path, change, message):
    with pytest.raises(AllocationError, match=message):
        write_allocation_outputs(tmp_path / "out", change(_allocation()), MANIFEST)


def test_small_cells_are_suppressed_in_every_file(tmp_path):
    table = _allocation(optional=False)
    table["n_persons"] = 1000
    table.loc[table["region_code"] == 7, "n_persons"] = 4
    folder = write_allocation_outputs(tmp_path / "out", table, MANIFEST)
    back = pd.read_csv(folder / "allocation.csv")
    blanked = back[back["suppressed"]]
    assert len(blanked) == 2  # the small cell and, with a total published, the next smallest
    assert blanked[["need", "share", "amount_eur", "n_persons"]].isna().all().all()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["disclosure"]["suppressed_rows"]["allocation"] == 2
    sheet = openpyxl.load_workbook(folder / "allocation.xlsx")["Bedragen"]
    assert sheet.cell(row=8, column=5).value is None  # region 7, amount_eur
