"""What leaves the library: disclosure control, the manifest, and the output writers.

``vsvrisk.report`` is the last step of the data flow (DESIGN sections 9 and 11). Every table it
writes is an aggregate that passed :func:`assert_no_person_rows` and
:func:`suppress_small_cells`; every output folder carries a ``manifest.json`` from which the run
can be checked and repeated.
"""

from vsvrisk.report.disclosure import DisclosureError, assert_no_person_rows, suppress_small_cells
from vsvrisk.report.html import render_allocation_html
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
    "write_allocation_outputs",
    "OUTPUT_FILES",
]
