"""Packages whose names are imported on first use (``vsvrisk._lazy``) stay whole and documented.

Each lists its names twice: in ``__all__`` and as the ``if TYPE_CHECKING:`` imports, which type
checkers and the API reference read and from which ``vsvrisk._lazy`` takes every name's home;
these tests keep the two one, and every name the object its home defines.
"""

import importlib
import subprocess
import sys

import pytest

from vsvrisk._lazy import _type_checking_imports

LAZY_PACKAGES = ["vsvrisk.data", "vsvrisk.features", "vsvrisk.models", "vsvrisk.allocate", "vsvrisk.audit",
                 "vsvrisk.policy", "vsvrisk.runs"]


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_exported_name_has_one_home(name):
    module = importlib.import_module(name)
    assert set(_type_checking_imports(name)) == set(module.__all__)


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_exported_name_resolves_to_its_home(name):
    module = importlib.import_module(name)
    for exported, home in _type_checking_imports(name).items():
        value = getattr(module, exported)
        assert value is getattr(importlib.import_module(home), exported)
        assert exported in dir(module)
    with pytest.raises(AttributeError):
        getattr(module, "not_a_name")


def test_a_name_exported_from_its_namesake_submodule_stays_the_name_once_the_submodule_is_imported():
    # vsvrisk.audit.impact and vsvrisk.data.regions are modules and functions: importing the module
    # (as the import system binds it to the package) must not replace the function.
    code = ("import vsvrisk.audit, vsvrisk.data\n"
            "import vsvrisk.audit.impact, vsvrisk.data.regions\n"
            "from vsvrisk.audit import impact\n"
            "from vsvrisk.data import regions\n"
            "print(callable(impact), impact.__module__, regions().shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "vsvrisk.audit.impact", "(40,", "3)"]
