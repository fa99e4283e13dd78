"""The person-year table: its contract, reading and writing, and the region catalogue.

The first step of the one path ``data -> features -> models -> ...``; it imports nothing from
later steps.
"""

from vsvrisk.data.io import read_person_years, write_person_years
from vsvrisk.data.regions import region_names, regions
from vsvrisk.data.schema import age_at_reference_date, person_year_schema, validate_person_years

__all__ = [
    "age_at_reference_date",
    "person_year_schema",
    "read_person_years",
    "region_names",
    "regions",
    "validate_person_years",
    "write_person_years",
]
