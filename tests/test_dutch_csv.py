"""Csv files as Dutch Excel saves them are read, and read right; ambiguous ones are refused.

Dutch Excel writes ``;`` between cells, a decimal comma, thousands points where a cell shows
them, CRLF line ends, and Windows-1252 ("CSV (gescheiden door lijstscheidingsteken)") or UTF-8
with a byte order mark ("CSV UTF-8"); "Unicode-tekst" is UTF-16 with tabs. The tests write
those bytes themselves and compare what is read with the numbers that were meant, computed
independently by Python's ``float`` on the plain English spelling.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.allocate import need_from_table, read_previous_allocation
from vsvrisk.cli import main
from vsvrisk.data import read_person_years, write_person_years
from vsvrisk.exceptions import DataFileError
from vsvrisk.synth import generate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
REGIONS = range(1, 41)
# Names with letters outside ASCII, and one with the separator in it (Excel quotes that cell).
NAMES = {code: f"Regio {code}" for code in REGIONS} | {
    4: "Fryslân Noord", 5: "Súdwest-Fryslân", 30: "Zuid-Holland-Zuid; Drechtsteden", 33: "Zeeuws-Vlaanderen"}
# Needs with six decimals as a sheet shows them; some above 1000, so thousands separators show.
NEEDS = [round(value, 6) for value in np.random.default_rng(14).gamma(2.0, 700.0, size=40)]
AMOUNTS = [2_250_000 + 37_123 * (code - 20) for code in REGIONS]  # whole euros, 1.5 M to 3 M


def sheet_bytes(rows, *, separator=";", encoding="cp1252", line_end="\r\n") -> bytes:
    """What Excel writes: cells quoted only where needed, every line ended, in ``encoding``."""
    text = io.StringIO()
    csv.writer(text, delimiter=separator, lineterminator=line_end).writerows(rows)
    return text.getvalue().encode(encoding)


def dutch(value: float, decimals: int = 6, thousands: bool = False) -> str:
    """A number as Dutch Excel shows it: 1.234,567891 (with thousands) or 1234,567891."""
    english = f"{value:{',' if thousands else ''}.{decimals}f}"
    return english.translate(str.maketrans(",.", ".,"))


def need_rows(spell) -> list[list[str]]:
    return [["region_code", "region_name", "need"]] + [[str(code), NAMES[code], spell(need)]
                                                        for code, need in zip(REGIONS, NEEDS, strict=True)]


MEANT = pd.Series([float(f"{need:.6f}") for need in NEEDS], index=pd.Index(REGIONS, name="region_code"),
                  name="need")

# (id, bytes of the file, the dialect that must be recorded)
GOOD_NEED_TABLES = [
    ("pandas or English Excel: commas, decimal points, UTF-8, LF",
     sheet_bytes(need_rows(lambda v: f"{v:.6f}"), separator=",", encoding="utf-8", line_end="\n"),
     {"encoding": "utf-8", "separator": ",", "decimal_mark": ".", "thousands_separator": None}),
    ("Dutch Excel 'CSV (gescheiden door lijstscheidingsteken)': cp1252, semicolons, decimal commas, CRLF",
     sheet_bytes(need_rows(dutch)),
     {"encoding": "cp1252", "separator": ";", "decimal_mark": ",", "thousands_separator": None}),
    ("Dutch Excel 'CSV UTF-8': a byte order mark, semicolons, decimal commas, CRLF",
     sheet_bytes(need_rows(dutch), encoding="utf-8-sig"),
     {"encoding": "utf-8-sig", "separator": ";", "decimal_mark": ",", "thousands_separator": None}),
    ("Dutch Excel showing thousands separators: 1.234,567891",
     sheet_bytes(need_rows(lambda v: dutch(v, thousands=True))),
     {"encoding": "cp1252", "separator": ";", "decimal_mark": ",", "thousands_separator": "."}),
    ("English thousands separators in quoted cells of a comma file: \"1,234.567891\"",
     sheet_bytes(need_rows(lambda v: f"{v:,.6f}"), separator=",", encoding="utf-8"),
     {"encoding": "utf-8", "separator": ",", "decimal_mark": ".", "thousands_separator": ","}),
    ("pandas to_csv(sep=';', decimal=',') of the rounded needs",
     pd.DataFrame({"region_code": REGIONS, "need": MEANT.to_numpy()})
     .to_csv(sep=";", decimal=",", index=False).encode(),
     {"encoding": "utf-8", "separator": ";", "decimal_mark": ",", "thousands_separator": None}),
    ("Excel 'Unicode-tekst': UTF-16 with its byte order mark, tabs, decimal commas",
     sheet_bytes(need_rows(dutch), separator="\t", encoding="utf-16"),
     {"encoding": "utf-16", "separator": "\t", "decimal_mark": ",", "thousands_separator": None}),
]


@pytest.mark.parametrize(("content", "dialect"), [case[1:] for case in GOOD_NEED_TABLES],
                         ids=[case[0] for case in GOOD_NEED_TABLES])
def test_a_need_table_reads_to_the_numbers_meant_whatever_the_dialect(tmp_path, content, dialect):
    path = tmp_path / "behoefte.csv"
    path.write_bytes(content)
    need = need_from_table(path)
    pd.testing.assert_series_equal(need, MEANT, check_exact=True)
    assert need.attrs["csv_dialect"] == dialect


def test_every_digit_of_a_float_survives_a_decimal_comma(tmp_path):
    # pandas' C reader rounds some 17-digit numbers differently once a thousands separator is
    # set (pandas issue 44145); a Dutch table must give the very floats the English one gives.
    needs = np.random.default_rng(44145).gamma(2.0, 700.0, size=40)
    path = tmp_path / "behoefte.csv"
    pd.DataFrame({"region_code": REGIONS, "need": needs}).to_csv(path, sep=";", decimal=",", index=False)
    assert ";" in path.read_text().splitlines()[1] and "," in path.read_text().splitlines()[1]
    assert need_from_table(path).tolist() == needs.tolist()


def test_the_bytes_written_are_the_ones_dutch_excel_writes():
    # Guard the helper: a cp1252 a-circumflex, a quoted cell holding ';', a decimal comma, CRLF.
    content = sheet_bytes(need_rows(dutch))
    assert b"4;Frysl\xe2n Noord;" in content and b'30;"Zuid-Holland-Zuid; Drechtsteden";' in content
    assert re.search(rb"\r\n1;Regio 1;\d+,\d{6}\r\n", content) and not content.startswith(b"\xef\xbb\xbf")


def test_euros_with_thousands_points_read_as_whole_euros(tmp_path):
    # 1.512.377 alone settles that '.' groups thousands, so 950.000 is 950000, not 950.
    amounts = [950_000] + AMOUNTS[1:]
    rows = [["region_code", "region_name", "amount_eur"]] + [
        [str(code), NAMES[code], dutch(amount, decimals=0, thousands=True)] for code, amount in zip(REGIONS, amounts)]
    path = tmp_path / "vorig-jaar.csv"
    path.write_bytes(sheet_bytes(rows))
    previous = read_previous_allocation(path)
    assert previous.tolist() == [float(amount) for amount in amounts]
    assert previous.attrs["csv_dialect"]["thousands_separator"] == "."


def one_value(need: str, line: int = 2) -> list[list[str]]:
    """A need table whose needs are whole numbers (neutral), except ``need`` on ``line``."""
    rows = [["region_code", "need"]] + [[str(code), str(code * 10)] for code in REGIONS]
    rows[line - 1][1] = need
    return rows


# (id, rows or bytes, fragments the one-line message must hold: what, where, the fix)
BAD_NEED_TABLES = [
    ("needs that all read as 1.234 or 1234 are refused, not guessed",
     [["region_code", "need"]] + [[str(code), f"{code}.{code * 7 % 1000:03d}"] for code in REGIONS],
     ["behoefte.csv, line 2", "need '1.007' can be 1.007 (decimal point, English style) or 1007 (Dutch style)",
      "no other number", "more or fewer than 3 decimals"]),
    ("a lone 12,500 among whole numbers is ambiguous too",
     one_value("12,500"), ["line 2", "need '12,500' can be 12500 (decimal point, English style) or 12.5 (Dutch"]),
    ("a decimal comma and a decimal point in one column are refused",
     one_value("7,5", 3)[:5] + [["5", "7.5"]] + one_value("1")[6:],
     ["mixes number styles", "need '7,5' (line 3)", "need '7.5' (line 6)", "write every number the same way"]),
    ("thousands points with a decimal point elsewhere are refused",
     one_value("7.102.495", 4)[:7] + [["7", "0.25"]] + one_value("1")[8:],
     ["need '7.102.495' (line 4) reads only with a decimal comma", "need '0.25' (line 8) only with a decimal point"]),
    ("a file in neither UTF-8 nor Windows-1252 is refused",
     sheet_bytes(need_rows(dutch)).replace(b"Regio 7", b"Regio \x81\x9d"),
     ["behoefte.csv is neither UTF-8 nor Windows-1252", "save it as 'CSV UTF-8'"]),
    ("UTF-16 without its byte order mark is refused",
     sheet_bytes(need_rows(dutch), encoding="utf-16-le"), ["NUL bytes", "save it as 'CSV UTF-8'"]),
]


@pytest.mark.parametrize(("content", "fragments"), [case[1:] for case in BAD_NEED_TABLES],
                         ids=[case[0] for case in BAD_NEED_TABLES])
def test_an_ambiguous_or_unreadable_need_table_is_one_clear_error(tmp_path, content, fragments):
    path = tmp_path / "behoefte.csv"
    path.write_bytes(content if isinstance(content, bytes) else sheet_bytes(content))
    with pytest.raises(DataFileError) as caught:
        need_from_table(path)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


AMBIGUOUS = re.compile(r"[1-9]\d{0,2}[.,]\d{3}")  # 1.234 or 1,234: a decimal or a thousands mark


@st.composite
def need_columns(draw):
    """40 needs in a drawn range, and a way to write them; 1-999 and 1000-999999 make files
    whose every number could be read two ways (123,456 or 123.456), which must be refused."""
    low, high = draw(st.sampled_from([(0.0, 5e7), (0.0, 1.0), (1.0, 999.0), (1000.0, 999_999.0)]))
    needs = draw(st.lists(st.floats(low, high), min_size=40, max_size=40))
    decimals = draw(st.sampled_from([None, 0, 1, 2, 3, 4, 8]))  # None: every digit (repr)
    return needs, decimals, draw(st.booleans()), draw(st.sampled_from(["nl", "en"]))


@settings(max_examples=150, deadline=None)
@given(case=need_columns())
def test_a_need_is_read_as_meant_or_refused_never_misread(tmp_path_factory, case):
    needs, decimals, thousands, style = case
    spec = f"{',' if thousands else ''}{'' if decimals is None else f'.{decimals}f'}"
    english = [format(need, spec) for need in needs]
    cells = english if style == "en" else [text.translate(str.maketrans(",.", ".,")) for text in english]
    path = tmp_path_factory.mktemp("need") / "need.csv"
    path.write_bytes(sheet_bytes([["region_code", "need"]] + [[str(c), v] for c, v in zip(REGIONS, cells)],
                                 separator="," if style == "en" else ";", encoding="utf-8"))
    meant = [float(text.replace(",", "")) for text in english]  # Python's own reading
    try:
        need = need_from_table(path)
    except DataFileError as error:
        # Refused only when no number settles the style: each one reads two ways or one way.
        assert "can be" in str(error)
        assert all(AMBIGUOUS.fullmatch(cell) or cell.isdigit() for cell in cells)
    else:
        assert need.tolist() == meant


# --------------------------------------------------------------------------- person-year files


@pytest.fixture(scope="module")
def people_csv(tmp_path_factory) -> Path:
    frame = generate(300, school_years=[2019], seed=3).frame.drop(columns=["p_true", "p_true_features"])
    frame = frame.assign(woonplaats=np.where(np.arange(len(frame)) % 2, "Súdwest-Fryslân", "Leeuwarden; Ljouwert"))
    return write_person_years(frame, tmp_path_factory.mktemp("people") / "people.csv")


@pytest.mark.parametrize(("separator", "encoding", "dialect"), [
    (";", "cp1252", {"encoding": "cp1252", "separator": ";"}),
    (";", "utf-8-sig", {"encoding": "utf-8-sig", "separator": ";"}),
    ("\t", "utf-16", {"encoding": "utf-16", "separator": "\t"}),
], ids=["Dutch Excel csv in Windows-1252", "Dutch Excel 'CSV UTF-8' with a byte order mark",
        "Excel 'Unicode-tekst' with tabs"])
def test_a_person_year_file_saved_the_dutch_way_reads_the_same_as_the_comma_file(
        people_csv, tmp_path, separator, encoding, dialect):
    rows = list(csv.reader(io.StringIO(people_csv.read_text(encoding="utf-8"), newline="")))
    path = tmp_path / "personen.csv"
    path.write_bytes(sheet_bytes(rows, separator=separator, encoding=encoding))
    expected = read_person_years(people_csv)
    table = read_person_years(path)
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert set(table["woonplaats"]) == {"Súdwest-Fryslân", "Leeuwarden; Ljouwert"}
    assert table.attrs["csv_dialect"] == dialect | {"decimal_mark": None, "thousands_separator": None}
    assert expected.attrs["csv_dialect"]["separator"] == ","


# --------------------------------------------------------------------------- vsvrisk allocate


def _config(folder: Path, previous: str | None = None) -> Path:
    settings_ = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text())
    if previous is not None:
        settings_["previous"] = previous
    path = folder / f"allocation-{previous}.yaml"
    path.write_text(yaml.safe_dump(settings_))
    return path


def test_allocate_gives_the_same_euros_from_dutch_excel_files_as_from_comma_files(tmp_path):
    amounts = [[str(code), NAMES[code], str(amount)] for code, amount in zip(REGIONS, AMOUNTS)]
    (tmp_path / "previous.csv").write_bytes(
        sheet_bytes([["region_code", "region_name", "amount_eur"]] + amounts, separator=",", encoding="utf-8",
                    line_end="\n"))
    (tmp_path / "vorig.csv").write_bytes(sheet_bytes(
        [["region_code", "region_name", "amount_eur"]]
        + [[code, name, dutch(float(amount), 0, thousands=True)] for code, name, amount in amounts]))
    (tmp_path / "need.csv").write_bytes(GOOD_NEED_TABLES[0][1])
    (tmp_path / "behoefte.csv").write_bytes(sheet_bytes(need_rows(lambda v: dutch(v, thousands=True))))
    for need, previous, out in (("need.csv", "previous.csv", "en"), ("behoefte.csv", "vorig.csv", "nl")):
        assert main(["allocate", "--config", str(_config(tmp_path, previous)), "--need", str(tmp_path / need),
                     "--out", str(tmp_path / out)]) == 0
    english, dutch_ = (pd.read_csv(tmp_path / out / "allocation.csv") for out in ("en", "nl"))
    assert english["amount_eur"].sum() == 90_000_000 and english["binding"].ne("none").any()  # the band held
    assert english["need"].tolist() == MEANT.tolist()
    assert (tmp_path / "nl" / "allocation.csv").read_bytes() == (tmp_path / "en" / "allocation.csv").read_bytes()
    inputs = json.loads((tmp_path / "nl" / "manifest.json").read_text(encoding="utf-8"))["inputs"]
    assert inputs["need"]["csv_dialect"] == {"encoding": "cp1252", "separator": ";", "decimal_mark": ",",
                                             "thousands_separator": "."}
    assert inputs["previous"]["csv_dialect"] == {"encoding": "cp1252", "separator": ";", "decimal_mark": ",",
                                                 "thousands_separator": "."}
    english_inputs = json.loads((tmp_path / "en" / "manifest.json").read_text(encoding="utf-8"))["inputs"]
    assert english_inputs["need"]["csv_dialect"]["separator"] == ","


def test_allocate_refuses_an_ambiguous_need_table_with_one_line_and_no_folder(tmp_path, capsys):
    need = tmp_path / "behoefte.csv"
    need.write_bytes(sheet_bytes(BAD_NEED_TABLES[0][1]))
    out = tmp_path / "out"
    assert main(["allocate", "--config", str(_config(tmp_path)), "--need", str(need), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: need table ") and "\n" not in error
    assert "line 2: need '1.007' can be" in error
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
