"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

- The notebooks live in ``notebooks/`` (the test suite runs them there); each one becomes a page
  ``notebooks/NAME.html``, executed by mkdocs-jupyter at build time, and the nav's "Notebooks"
  section lists every one of them in file order, so a new notebook needs no edit here.
- Notebook pages would load MathJax and Mermaid from a CDN (nbconvert's template does so on
  every page); the notebooks use neither, so those script tags are dropped and the site reads
  offline.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# <script ... src="https://..."> (and their inline configuration) that nbconvert adds to a page.
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.IGNORECASE)
_MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)
_MERMAID = re.compile(r"<script type=\"module\">\s*document\.addEventListener\(\"DOMContentLoaded\".*?mermaid.*?</script>",
                      re.DOTALL)


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def on_config(config):
    for section in config["nav"]:
        if isinstance(section, dict) and "Notebooks" in section:
            section["Notebooks"] = [f"notebooks/{path.name}" for path in _notebooks()]
    return config


@event_priority(100)  # before mkdocs-jupyter, which turns .ipynb files into pages
def on_files(files, config):
    for path in _notebooks():
        files.append(File.generated(config, f"notebooks/{path.name}", abs_src_path=str(path)))
    return files


def on_post_page(output, page, config):
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    output = _MATHJAX_CONFIG.sub("", output)
    output = _MERMAID.sub("", output)
    return _REMOTE_SCRIPT.sub("", output)


# The docstrings are numpy style with Sphinx roles (:func:`~vsvrisk.explain.aggregate_shap`),
# which Markdown shows as they are. This griffe extension (``extensions:`` of mkdocstrings in
# mkdocs.yml) turns each into an *optional* cross-reference: a link where the target has a page,
# plain code where it has none, never a warning.
import griffe  # noqa: E402

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|const):`(?P<tilde>~?)(?P<target>[^`<>]+)`")


def _cross_reference(match: re.Match) -> str:
    target = match["target"].strip().removesuffix("()")
    title = target.rsplit(".", 1)[-1] if match["tilde"] else target
    return f'<autoref identifier="{target}" optional><code>{title}</code></autoref>'


class SphinxRoles(griffe.Extension):
    """Sphinx roles in docstrings become optional cross-references (see above)."""

    def on_package(self, *, pkg, **kwargs) -> None:
        pending = [pkg]
        while pending:
            obj = pending.pop()
            if obj.docstring is not None:
                obj.docstring.value = _ROLE.sub(_cross_reference, obj.docstring.value)
            pending.extend(member for member in obj.members.values() if not member.is_alias)
