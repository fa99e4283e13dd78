"""What leaves the library: disclosure control, the manifest, and the output writers.

``vsvrisk.report`` is the last step of the data flow (DESIGN sections 9 and 11). Every table it
writes is an aggregate that passed :func:`assert_no_person_rows` and
:func:`suppress_small_cells`; every output folder carries a ``manifest.json`` from which the run
can be checked and repeated. Every word a person reads comes from :func:`glossary` (Dutch by
default, English on request); every page opens with the run, cohort and rules it is about
(:mod:`vsvrisk.report.story`); :func:`write_index` links a folder's reports on one page.
"""

from vsvrisk.report.dictionary import data_dictionary
from vsvrisk.report.disclosure import DisclosureError, assert_no_person_rows, suppress_small_cells
from vsvrisk.report.glossary import Glossary, glossary
from vsvrisk.report.html import render_allocation_html
from vsvrisk.report.index import write_index
from vsvrisk.report.map import region_map_svg
from vsvrisk.report.region import render_region_html
from vsvrisk.report.manifest import (
    add_outputs,
    build_manifest,
    content_sha256,
    file_sha256,
    flatten_manifest,
    write_manifest,
)
from vsvrisk.report.writers import OUTPUT_FILES, write_allocation_outputs

__all__ = [
    "DisclosureError",
    "suppress_small_cells",
    "assert_no_person_rows",
    "file_sha256",
    "build_manifest",
    "add_outputs",
    "content_sha256",
    "write_manifest",
    "flatten_manifest",
    "render_allocation_html",
    "render_region_html",
    "region_map_svg",
    "write_allocation_outputs",
    "write_index",
    "glossary",
    "Glossary",
    "data_dictionary",
    "OUTPUT_FILES",
]
