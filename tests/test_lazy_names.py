"""Packages whose names are imported on first use (``vsvrisk._lazy``) stay whole and documented.

Their ``__all__``, the table of home modules and the ``if TYPE_CHECKING:`` imports (which type
checkers and the API reference read) are three lists of the same names; these tests keep them
one.
"""

import ast
import importlib
import inspect

import pytest

LAZY_PACKAGES = ["vsvrisk.runs"]


def _type_checking_imports(module) -> dict[str, str]:
    tree = ast.parse(inspect.getsource(module))
    names = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                names.update({alias.name: statement.module for alias in statement.names})
    return names


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_exported_name_has_one_home(name):
    module = importlib.import_module(name)
    assert set(module._HOMES) == set(module.__all__)
    assert _type_checking_imports(module) == module._HOMES


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_exported_name_resolves_to_its_home(name):
    module = importlib.import_module(name)
    for exported, home in module._HOMES.items():
        value = getattr(module, exported)
        assert value is getattr(importlib.import_module(home), exported)
        assert exported in dir(module)
    with pytest.raises(AttributeError):
        getattr(module, "not_a_name")
