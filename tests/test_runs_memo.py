"""Within the demo the workflows share what they compute on the same model and cohort.

Training's risks answer the later scorings and one step's SHAP sums answer the next's; every
number is that of a fresh computation (checked against the same work done outside, where
nothing is remembered).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import vsvrisk.explain
from vsvrisk.data import write_person_years
from vsvrisk.models import RiskModel
from vsvrisk.runs import _memo, allocate_run, train
from vsvrisk.synth import generate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def world():
    frame = generate(8_000, [2018, 2019], seed=5).frame
    model = RiskModel("lightgbm", {"vo": ["age", "vo_type", "psychosocial"], "mbo": ["age", "mbo_level"]},
                      params={"n_estimators": 20}).fit(frame[frame["school_year"] == 2018])
    return frame, model


@pytest.fixture
def counted(monkeypatch):
    """The rows of every prediction and the number of SHAP passes."""
    scored, explained = [], []
    predict_risk, aggregate_shap = RiskModel.predict_risk, vsvrisk.explain.aggregate_shap
    monkeypatch.setattr(RiskModel, "predict_risk", lambda self, X: scored.append(len(X)) or predict_risk(self, X))
    monkeypatch.setattr(vsvrisk.explain, "aggregate_shap", lambda *a, **k: explained.append(k) or aggregate_shap(*a, **k))
    return scored, explained


def test_outside_nothing_is_kept_and_inside_each_question_is_answered_once(world, counted):
    frame, model = world
    scored, explained = counted
    cohort = frame[frame["school_year"] == 2019]
    fresh = model.predict_risk(cohort).to_numpy()
    scored.clear()
    _memo.predicted_risk("m", model, cohort)
    _memo.predicted_risk("m", model, cohort)
    assert scored == [len(cohort)] * 2 and not _memo.active()
    scored.clear()
    with _memo.remembering():
        first = _memo.predicted_risk("m", model, cohort)
        first[:] = -1  # a copy: what is remembered stays as computed
        second = _memo.predicted_risk("m", model, cohort.copy())  # the same content, another frame
        other = _memo.predicted_risk("m", model, cohort.iloc[::-1])  # other rows: computed
    assert scored == [len(cohort)] * 2
    assert np.array_equal(second, fresh) and np.array_equal(other, fresh[::-1])
    assert not _memo.active()


def test_shap_sums_are_shared_between_a_sample_and_no_sample_but_not_between_samples(world, counted):
    frame, model = world
    _, explained = counted
    cohort = frame[frame["school_year"] == 2019]
    with _memo.remembering():
        plotted = _memo.shap_aggregates("m", model, cohort, chunk_size=5_000, sample_size=100)
        summed = _memo.shap_aggregates("m", model, cohort, chunk_size=5_000)
        other = _memo.shap_aggregates("m", model, cohort, chunk_size=5_000, sample_size=100, random_state=1)
        chunked = _memo.shap_aggregates("m", model, cohort, chunk_size=3_000)
    assert len(explained) == 3  # the sample, another sample, another chunk size
    fresh = vsvrisk.explain.aggregate_shap(model, cohort, chunk_size=5_000, sample_size=0)
    for name in ("sums", "secant_sums", "abs_sums", "levels"):
        pd.testing.assert_frame_equal(getattr(summed, name), getattr(fresh, name), check_exact=True)
        pd.testing.assert_frame_equal(getattr(plotted, name), getattr(fresh, name), check_exact=True)
    assert summed.sample.empty and len(plotted.sample) == 100 and not other.sample.index.equals(plotted.sample.index)
    assert chunked.national_mean_margin == pytest.approx(fresh.national_mean_margin, rel=1e-12)


def test_an_allocation_after_training_takes_its_risks_and_gives_the_same_numbers(tmp_path, monkeypatch, counted):
    scored, _ = counted
    frame = generate(8_000, [2018, 2019], seed=5).frame
    write_person_years(frame, tmp_path / "population.parquet")
    cohort = write_person_years(frame[frame["school_year"] == 2019], tmp_path / "cohort-2019.parquet")
    settings = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text(encoding="utf-8"))
    config = tmp_path / "allocation.yaml"
    config.write_text(yaml.safe_dump({**settings, "previous": None, "n_bootstrap": 20}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with _memo.remembering():
        run = train(CONFIGS / "lightgbm.yaml", tmp_path / "population.parquet")
        scored.clear()
        allocate_run(config, tmp_path / "inside", run_id=run.run_id, data=cohort)
        inside = list(scored)
    allocate_run(config, tmp_path / "outside", run_id=run.run_id, data=cohort)
    n_cohort = int((frame["school_year"] == 2019).sum())
    # inside, only the risk to watch predicted (its pupils without a registration: fewer)
    assert inside and all(n < n_cohort for n in inside) and n_cohort in scored[len(inside):]
    assert (tmp_path / "inside" / "allocation.csv").read_bytes() == (tmp_path / "outside" / "allocation.csv").read_bytes()
    extra = [json.loads((tmp_path / side / "manifest.json").read_text(encoding="utf-8"))["extra"]
             for side in ("inside", "outside")]
    assert all(extra[0][key] == extra[1][key] for key in ("registration_watch", "drift", "lambda"))


def test_a_file_is_read_once_while_remembering_and_each_reader_gets_its_own_copy(tmp_path, monkeypatch):
    import vsvrisk.data

    frame = generate(2_000, [2019], seed=6).frame
    path = tmp_path / "cohort.parquet"
    write_person_years(frame, path)
    reads = []
    read = vsvrisk.data.read_person_years
    monkeypatch.setattr(vsvrisk.data, "read_person_years", lambda *a, **k: reads.append(k) or read(*a, **k))
    expected = read(path, require_target=True)
    reads.clear()
    with _memo.remembering():
        first = _memo.person_years(path, require_target=True)
        first.loc[first.index[0], "region_code"] = 40  # a reader's change stays its own
        second = _memo.person_years(path, require_target=True)
        assert len(reads) == 1
        pd.testing.assert_frame_equal(second, expected, check_exact=True)
        _memo.person_years(path)  # other options: read again
        assert len(reads) == 2
        write_person_years(frame.iloc[:-1], path, overwrite=True)  # the file rewritten: read again
        assert len(_memo.person_years(path, require_target=True)) == len(frame) - 1
        assert len(reads) == 3
    _memo.person_years(path)  # outside: nothing kept
    _memo.person_years(path)
    assert len(reads) == 5


def test_a_spec_trained_on_a_cohort_answers_the_same_spec_on_the_same_cohort_only(world):
    from vsvrisk.models import load_model_spec

    frame, model = world
    train, cohort = frame[frame["school_year"] == 2018], frame[frame["school_year"] == 2019]
    spec = load_model_spec(CONFIGS / "lightgbm.yaml")
    p = model.predict_risk(cohort).to_numpy()
    assert _memo.fitted_risks(train, cohort) is None  # outside: nothing to look up
    with _memo.remembering():
        _memo.remember_fit("run-1", spec, _memo.digest(train))
        _memo.remember_risk("run-1", _memo.digest(cohort), p)
        known = _memo.fitted_risks(train, cohort)
        renamed = spec.model_copy(update={"name": "other", "description": "another name, the same fit"})
        assert np.array_equal(known(renamed), p)
        assert known(spec.model_copy(update={"seed": 1})) is None  # another fit
        assert _memo.fitted_risks(train.iloc[::-1], cohort)(spec) is None  # other training rows


def test_the_cohort_digest_is_sha256_of_pandas_row_hashes_whatever_the_duplicates():
    # frame_sha256 hashes without pandas' categorising of text: an independent digest over the
    # default (categorised) row hashes must be the same, with duplicated and missing text too.
    import hashlib

    from vsvrisk.cohorts import frame_sha256

    frame = generate(2_000, school_years=[2019], seed=4).frame
    frame["person_id"] = frame["person_id"].where(np.arange(len(frame)) % 7 != 0, frame["person_id"].iloc[0])
    frame["note"] = np.where(np.arange(len(frame)) % 3 == 0, "a", "bb")  # an object column with repeats

    def expected(table):
        return hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()).hexdigest()

    assert frame_sha256(frame) == expected(frame)
    frame.loc[frame.index[::11], "person_id"] = None  # missing text
    assert frame_sha256(frame) == expected(frame)
    assert frame_sha256(frame.iloc[::-1]) != expected(frame)  # the order of the rows counts
