"""Shared fixtures: small synthetic populations, built once per test session."""

from __future__ import annotations

import contextlib
import io
import os
from types import SimpleNamespace

# scikit-learn's check_array_api_input skips itself unless SciPy's array-API mode is on; turn
# it on before SciPy is imported so the estimator checks run instead of skipping.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402

from vsvrisk.synth import generate  # noqa: E402


@pytest.fixture(scope="session")
def population_2019():
    """One cohort (2019/20) at a size where the published-figure ranges hold without flakes."""
    return generate(250_000, school_years=[2019], seed=1)


@pytest.fixture(scope="session")
def small_population():
    """Two small cohorts (2018/19 and 2019/20) for quick structural checks."""
    return generate(20_000, school_years=[2018, 2019], seed=7)


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory):
    """``vsvrisk demo`` at a small size, run once for every test that reads its outputs.

    ``code`` (exit status), ``printed`` (what it printed, 200 columns wide), ``root`` (the working
    directory, with the MLflow store) and ``out`` (the demo's folder).
    """
    from vsvrisk.cli import main

    root = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.setenv("COLUMNS", "200")  # no wrapped cells: the summary is checked word for word
        with contextlib.redirect_stdout(printed):
            code = main(["demo", "--n-persons", "20000", "--out", "demo"])
    return SimpleNamespace(code=code, printed=printed.getvalue(), root=root, out=root / "demo")
