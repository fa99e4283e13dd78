"""The catalogue of the 40 RMC / Doorstroompunt regions (DESIGN section 6)."""

from __future__ import annotations

from vsvrisk.data import region_names, regions
from vsvrisk.data.regions import REGION_CODES


def test_catalogue_has_the_40_regions_numbered_1_to_40():
    table = regions()
    assert len(table) == 40
    assert table["region_code"].tolist() == list(range(1, 41)) == list(REGION_CODES)
    assert list(table.columns) == ["region_code", "region_name", "population_k"]


def test_the_split_region_14_and_its_other_half_40_are_both_there():
    names = region_names()
    assert names[14] == "Arnhem / De Liemers"
    assert names[40] == "Rijk van Nijmegen"


def test_region_names_are_unique_and_filled():
    table = regions()
    assert table["region_name"].is_unique
    assert table["region_name"].str.strip().str.len().gt(0).all()
    assert region_names() == dict(zip(table["region_code"], table["region_name"], strict=True))


def test_population_weights_are_positive_and_the_largest_is_rijnmond():
    table = regions()
    assert (table["population_k"] > 0).all()
    assert table.loc[table["population_k"].idxmax(), "region_name"] == "Rijnmond"


def test_regions_returns_a_copy_the_caller_may_change():
    table = regions()
    table.loc[0, "region_name"] = "changed"
    assert regions().loc[0, "region_name"] == "Oost-Groningen"
