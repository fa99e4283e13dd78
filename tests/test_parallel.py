"""Work split over joblib workers gives the numbers of one process: model refits and impact
alternatives on whatever backend the caller configured (threads here stand in for a Dask or Ray
cluster)."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from vsvrisk.allocate import need_from_predictions
from vsvrisk.audit import impact
from vsvrisk.exceptions import ConfigError
from vsvrisk.models import RiskModel, load_model_spec
from vsvrisk.runs.allocation import _model_refit_need
from vsvrisk.synth import generate

from test_audit_impact import CONFIGS


@pytest.fixture(scope="module")
def quick_spec():
    spec = yaml.safe_load((CONFIGS / "lightgbm.yaml").read_text())
    spec["params"].update({"learning_rate": 0.3, "n_estimators": 10, "num_leaves": 4, "n_jobs": 1})
    spec["early_stopping_rounds"] = 3
    return load_model_spec(spec)


@pytest.fixture(scope="module")
def cohorts():
    frame = generate(3_000, school_years=[2018, 2019], seed=11).frame
    return frame[frame["school_year"] == 2018], frame[frame["school_year"] == 2019].reset_index(drop=True)


def test_model_refits_are_the_same_whatever_runs_them(quick_spec, cohorts):
    train, cohort = cohorts
    messages = []
    one = _model_refit_need(quick_spec, train, cohort, "all", 2, 7, messages.append, n_jobs=1)
    two = _model_refit_need(quick_spec, train, cohort, "all", 2, 7, lambda message: None, n_jobs=2)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        threads = _model_refit_need(quick_spec, train, cohort, "all", 2, 7, lambda message: None)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, threads)
    assert messages[-1] == "model refits (2 of 2 done)"
    # Each row is a refit on its own bootstrap sample: the rows differ, around the model's need.
    assert len({row.tobytes() for row in one}) == 2
    point = need_from_predictions(cohort.assign(p=RiskModel.from_spec(quick_spec).fit(train).predict_risk(cohort)),
                                  "p", "all")["need"].to_numpy()
    assert np.allclose(one.mean(axis=0).sum(), point.sum(), rtol=0.2)


def test_the_impact_alternatives_are_the_same_whatever_runs_them(quick_spec, tmp_path):
    (tmp_path / "quick.yaml").write_text(yaml.safe_dump(quick_spec.model_dump(mode="json")))
    settings = yaml.safe_load((CONFIGS / "impact.yaml").read_text())
    settings.update({"model": str(tmp_path / "quick.yaml"), "allocation": str(CONFIGS / "allocation-2026.yaml"),
                     "data": {"synthetic_n_persons": 3_000, "synthetic_seed": 3}})
    settings["alternatives"] = [a for a in settings["alternatives"] if a["name"] in ("without_wealth", "scenario_all")]
    one = impact({**settings, "n_jobs": 1})
    two = impact({**settings, "n_jobs": 2})
    assert one.equals(two)
    assert set(one["alternative"]) == {"baseline", *(a["name"] for a in settings["alternatives"])}


def test_zero_jobs_is_refused_with_the_key_named():
    settings = yaml.safe_load((CONFIGS / "impact.yaml").read_text())
    settings.update({"model": str(CONFIGS / "lightgbm.yaml"), "allocation": str(CONFIGS / "allocation-2026.yaml"),
                     "n_jobs": 0})
    with pytest.raises(ConfigError, match="n_jobs"):
        impact(settings)


def test_the_allocations_background_bootstrap_gives_its_result_or_its_error_and_needs_no_join():
    import threading

    from vsvrisk.allocate import bootstrap_need
    from vsvrisk.exceptions import AllocationError
    from vsvrisk.runs._background import on_a_thread

    rng = np.random.default_rng(0)
    codes, p = rng.integers(1, 41, 5_000), rng.uniform(0, 0.2, 5_000)
    pending = on_a_thread(bootstrap_need, codes, p, 20, seed=3, scenario={"top_share": 0.4})
    np.testing.assert_array_equal(pending.result(), bootstrap_need(codes, p, 20, seed=3, scenario={"top_share": 0.4}))
    with pytest.raises(AllocationError, match="n_replicates"):
        on_a_thread(bootstrap_need, codes, p, 0, seed=3).result()
    assert all(thread.daemon for thread in threading.enumerate() if thread.name.startswith("vsvrisk-"))
