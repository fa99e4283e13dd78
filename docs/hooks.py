"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

- The notebooks live in ``notebooks/`` (the test suite runs them there); each one becomes a page
  ``notebooks/NAME.html``, executed by mkdocs-jupyter at build time, and the nav's "Notebooks"
  section lists every one of them in file order, so a new notebook needs no edit here.
- The notebooks' kernels talk to the build over IPC, not TCP (ipykernel warns about
  unencrypted TCP on every notebook otherwise).
- Notebook pages would load MathJax and Mermaid from a CDN (nbconvert's template does so on
  every page); the notebooks use neither, so those script tags are dropped and the site reads
  offline.
- Every name in the ``__all__`` of a package documented under ``api/`` must have its entry on
  the page; a missing one is a warning, so the strict build fails.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import tempfile
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


_log = logging.getLogger("mkdocs.hooks.vsvrisk")
_temporary: list[Path] = []
_API_ENTRY = re.compile(r"^::: (vsvrisk[\w.]*)\s*$", re.MULTILINE)
_ANCHOR = re.compile(r'\bid="(vsvrisk[\w.]*)"')


def on_config(config):
    for section in config["nav"]:
        if isinstance(section, dict) and "Notebooks" in section:
            section["Notebooks"] = [f"notebooks/{path.name}" for path in _notebooks()]
    # mkdocs-jupyter's nbconvert reads its configuration from JUPYTER_CONFIG_DIR: one for this
    # build only, with the kernel on IPC. The sockets get an absolute path in that folder: the
    # kernel starts in notebooks/, the build runs from the repository root.
    folder = Path(tempfile.mkdtemp(prefix="vsvrisk-docs-jupyter-"))
    settings = {"KernelManager": {"transport": "ipc", "ip": str(folder / "kernel")}}
    (folder / "jupyter_nbconvert_config.json").write_text(json.dumps(settings))
    os.environ["JUPYTER_CONFIG_DIR"] = str(folder)
    _temporary.append(folder)
    return config


def on_shutdown():
    for folder in _temporary:
        shutil.rmtree(folder, ignore_errors=True)


@event_priority(100)  # before mkdocs-jupyter, which turns .ipynb files into pages
def on_files(files, config):
    # A File whose source folder is the repository (not File.generated: mkdocs-jupyter's wrapper
    # reads the path from src_dir, which a generated file does not have).
    for path in _notebooks():
        files.append(File(f"notebooks/{path.name}", src_dir=str(NOTEBOOKS.parent), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


def on_post_page(output, page, config):
    if page.file.src_uri.startswith("api/"):
        _check_api_page(page.markdown or "", output, page.file.src_uri)
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    output = _MATHJAX_CONFIG.sub("", output)
    output = _MERMAID.sub("", output)
    return _REMOTE_SCRIPT.sub("", output)


def _check_api_page(markdown: str, html: str, where: str) -> None:
    anchors = set(_ANCHOR.findall(html))
    for identifier in _API_ENTRY.findall(markdown):
        try:
            names = getattr(importlib.import_module(identifier), "__all__", ())
        except ImportError:  # an entry for a function or class, not a module
            continue
        # A name that is also a submodule (vsvrisk.explain.shap_values) is documented by its full path.
        missing = [name for name in names if not any(a.startswith(f"{identifier}.{name}") for a in anchors)]
        if missing:
            _log.warning("%s: %s exports %s, which the page does not document: add a docstring, or an "
                         "entry '::: %s.<module>.<name>' for a name that is also a submodule",
                         where, identifier, ", ".join(missing), identifier)


# The docstrings are numpy style with Sphinx roles (:func:`~vsvrisk.explain.aggregate_shap`),
# which Markdown shows as they are. This griffe extension (``extensions:`` of mkdocstrings in
# mkdocs.yml) turns each into an *optional* cross-reference: a link where the target has a page,
# plain code where it has none, never a warning.
import griffe  # noqa: E402

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|const):`(?P<tilde>~?)(?P<target>[^`<>]+)`")


def _cross_reference(match: re.Match, package: str) -> str:
    target = match["target"].strip().removesuffix("()")
    title = target.rsplit(".", 1)[-1] if match["tilde"] else target
    # A bare name (:func:`allocate`) is one of the object's own package (vsvrisk.allocate).
    identifier = target if "." in target else f"{package}.{target}"
    return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'


class SphinxRoles(griffe.Extension):
    """Sphinx roles in docstrings become optional cross-references (see above).

    It also drops the undocumented instance attributes of classes (``self.learner = learner``
    in a scikit-learn ``__init__``): the class's Parameters section documents them already, and
    the site shows objects without a docstring only for the module constants.
    """

    def on_package(self, *, pkg, **kwargs) -> None:
        pending = [pkg]
        while pending:
            obj = pending.pop()
            if obj.docstring is not None:
                package = ".".join(obj.path.split(".")[:2])
                obj.docstring.value = _ROLE.sub(lambda match: _cross_reference(match, package), obj.docstring.value)
            init = obj.members.get("__init__") if obj.is_class else None
            if init is not None and not init.is_alias:  # attributes set in __init__, not dataclass fields
                for name in [name for name, member in obj.members.items() if not member.is_alias and member.is_attribute
                             and member.docstring is None and init.lineno <= (member.lineno or 0) <= init.endlineno]:
                    del obj.members[name]
            pending.extend(member for member in obj.members.values() if not member.is_alias)
