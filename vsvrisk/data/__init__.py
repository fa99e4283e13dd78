"""The person-year table: its contract, reading and writing, and the region catalogue.

The first step of the one path ``data -> features -> models -> ...``; it imports nothing from
later steps. The code book (:mod:`vsvrisk.data.codes`) needs nothing but the standard library;
the names below are imported on first use (pandas and pandera with them), so that a config is
checked without them.
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

if TYPE_CHECKING:
    from vsvrisk.data.io import read_person_years, write_person_years
    from vsvrisk.data.regions import region_names, regions
    from vsvrisk.data.schema import age_at_reference_date, person_year_schema, validate_person_years
    from vsvrisk.data.years import school_year_rows

__getattr__, __dir__ = lazy_names(__name__)

__all__ = [
    "age_at_reference_date",
    "person_year_schema",
    "read_person_years",
    "region_names",
    "regions",
    "school_year_rows",
    "validate_person_years",
    "write_person_years",
]
