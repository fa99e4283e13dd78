"""Shared fixtures: small synthetic populations, built once per test session."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
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


@pytest.fixture(scope="session")
def policy_outputs(tmp_path_factory):
    """``vsvrisk policy prevention|registration|path`` on a small world (10,000 persons a cohort), once.

    ``folder`` (the working directory, with the MLflow store and ``policy.yaml``), ``out`` (one
    folder per analysis, in Dutch; ``registration`` with ``--refit`` for its two risks to watch;
    and ``path-en``, the path with one band in English) and ``codes`` (exit status per folder).
    """
    import yaml

    from vsvrisk.cli import main

    configs = Path(__file__).resolve().parents[1] / "configs"
    folder = tmp_path_factory.mktemp("policy")
    settings = yaml.safe_load((configs / "policy.yaml").read_text())
    settings.update(model=str(configs / "cbs-replica.yaml"), allocation=str(configs / "allocation-2026.yaml"),
                    data={"synthetic_n_persons": 10_000, "synthetic_seed": 4},
                    prevention={"regions": [29], "fraction": 0.3, "n_seeds": 2},
                    registration={"registrations": ["psychosocial", "crime_suspect"], "n_watch": 2, "share_pp": 5.0},
                    path={"years": [2026, 2027], "bands": [0.025, 0.1]})
    config = folder / "policy.yaml"
    config.write_text(yaml.safe_dump(settings))
    out = folder / "out"
    runs = {"prevention": ["prevention"], "registration": ["registration", "--refit"], "path": ["path"],
            "path-en": ["path", "--lang", "en", "--bands", "0.05"]}
    codes = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for name, arguments in runs.items():
            codes[name] = main(["policy", arguments[0], "--config", str(config), "--out", str(out / name),
                                *arguments[1:]])
    return SimpleNamespace(folder=folder, out=out, codes=codes)
