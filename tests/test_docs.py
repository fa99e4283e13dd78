"""The documentation site: every package has its API page, every example in it still holds, and
the build's own checks (docs/hooks.py) catch what they promise to. CI builds the site itself
(`make docs` in .ci/run, strict); these checks are the fast part of it."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import re
import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
import yaml

import vsvrisk
from vsvrisk.cli import _expand_multi_value_options, app
from vsvrisk.runs._sweep_config import ParallelSpec, load_sweep_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _hooks():
    spec = importlib.util.spec_from_file_location("vsvrisk_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _blocks(language: str) -> list[tuple[str, str]]:
    return [(page.name, body) for page in PAGES for lang, body in FENCE.findall(page.read_text(encoding="utf-8"))
            if lang == language]


def test_every_public_package_gets_an_api_page_and_every_page_is_in_the_nav():
    hooks = _hooks()
    packages = sorted(info.name for info in pkgutil.iter_modules(vsvrisk.__path__) if info.ispkg and not info.name.startswith("_"))
    modules = hooks.api_modules()
    assert len(packages) >= 10 and {f"vsvrisk.{name}" for name in packages} <= set(modules)
    assert modules[:2] == ["vsvrisk.data", "vsvrisk.synth"] and "vsvrisk.tracking" in modules
    # A name that is also a submodule is documented where it is defined.
    assert "::: vsvrisk.data.regions.regions" in hooks.api_page("vsvrisk.data")
    assert "::: vsvrisk.explain.shap_values.shap_values" in hooks.api_page("vsvrisk.explain")
    assert hooks.api_page("vsvrisk.models").count(":::") == 1
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in [*PAGES, DOCS / "api" / "index.md"]:
        assert page.relative_to(DOCS).as_posix() in nav, f"{page.name} is not in the nav of mkdocs.yml"


def test_the_command_table_lists_every_command_with_its_example():
    rows = _hooks().command_rows()
    group = typer.main.get_command(app)
    assert len(rows) >= len(group.commands) >= 10  # a command group (vsvrisk policy ...) has a row per subcommand
    assert all(f"| `vsvrisk {name}" in "".join(rows) for name in group.commands)
    assert all(row.count("`vsvrisk ") == 2 for row in rows)  # the command and its example


def test_every_command_line_in_the_docs_parses():
    group = typer.main.get_command(app)
    lines = [line for _, body in _blocks("sh") for line in body.splitlines() if line.startswith("vsvrisk ")]
    assert len(lines) >= 8
    for line in lines:
        words = shlex.split(line, comments=True)
        command = group.commands[words[1]]
        with command.make_context(words[1], _expand_multi_value_options(words[2:])) as context:
            assert context.params, line


def test_the_python_examples_are_the_readme_ones_that_run_in_the_tests():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tested = re.findall(r"<!-- tested -->\n```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    examples = _blocks("python")
    assert examples and all(body in tested for _, body in examples)


def test_the_sweep_configs_in_the_docs_are_valid(tmp_path):
    configs = [yaml.safe_load(body) for _, body in _blocks("yaml")]
    full = [c for c in configs if "name" in c]
    assert full and all(set(c) == {"parallel"} for c in configs if "name" not in c)
    for config in full:
        path = tmp_path / "sweep.yaml"
        path.write_text(yaml.safe_dump({**config, "model": str(ROOT / "configs" / config["model"])}))
        assert load_sweep_config(path)[0].name == config["name"]
    for config in configs:
        ParallelSpec.model_validate(config["parallel"])


def test_the_build_fails_on_a_public_name_without_its_entry(caplog):
    hooks = _hooks()
    exported = importlib.import_module("vsvrisk.data").__all__
    anchors = "".join(f'<h2 id="vsvrisk.data.{name}">' for name in exported if name != "regions")
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.vsvrisk"):
        hooks._check_api_page("::: vsvrisk.data\n", anchors, "api/data.md")
    assert len(caplog.records) == 1 and "regions" in caplog.text and "age_at_reference_date" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.vsvrisk"):
        hooks._check_api_page("::: vsvrisk.data\n", anchors + '<h2 id="vsvrisk.data.regions.regions">', "api/data.md")
    assert not caplog.records


def test_notebook_pages_load_no_script_from_elsewhere():
    hooks = _hooks()
    page = SimpleNamespace(file=SimpleNamespace(src_uri="notebooks/01-data-and-features.ipynb"), markdown="")
    output = ('<html><!-- Load mathjax --><script src="https://cdnjs.cloudflare.com/mathjax/latest.js?config=x"></script>'
              '<script type="text/x-mathjax-config">init</script><!-- End of mathjax configuration -->'
              '<script src="https://unpkg.com/x.js" type="text/javascript"></script>'
              '<script src="../assets/javascripts/bundle.js"></script><p>cell output</p></html>')
    cleaned = hooks.on_post_page(output, page, {})
    assert "https://" not in cleaned and "mathjax" not in cleaned
    assert "bundle.js" in cleaned and "cell output" in cleaned


def test_ci_builds_the_site_strictly():
    assert "make docs" in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    recipe = re.search(r"^docs:.*\n\t(.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert recipe and "mkdocs build --strict" in recipe[1]
    assert "make docs" in (ROOT / "README.md").read_text(encoding="utf-8")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+execute: true\b", config, re.MULTILINE) and re.search(r"^\s+allow_errors: false\b", config, re.MULTILINE)


@pytest.mark.parametrize("role, package, expected", [
    (":func:`~vsvrisk.explain.aggregate_shap`", "vsvrisk.explain", 'identifier="vsvrisk.explain.aggregate_shap" optional><code>aggregate_shap</code>'),
    (":class:`VsvriskError`", "vsvrisk.exceptions", 'identifier="vsvrisk.exceptions.VsvriskError" optional><code>VsvriskError</code>'),
    (":mod:`vsvrisk.tracking`", "vsvrisk.tracking", 'identifier="vsvrisk.tracking" optional><code>vsvrisk.tracking</code>'),
], ids=["a tilde shows the last name", "a bare name is of the object's package", "a module keeps its full name"])
def test_sphinx_roles_become_optional_cross_references(role, package, expected):
    hooks = _hooks()
    assert expected in hooks._ROLE.sub(lambda match: hooks._cross_reference(match, package), f"see {role}.")
