"""Sweeps: the trials are the models they claim, the best is marked, and a Dask cluster agrees."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from vsvrisk.cli import main
from vsvrisk.evaluate.validation import out_of_time
from vsvrisk.exceptions import ConfigError
from vsvrisk.models import RiskModel, load_model_spec
from vsvrisk.runs import sweep_run
from vsvrisk.synth import generate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
N_PERSONS, SEED = 4_000, 3
GRID = {"params.n_estimators": [15, 30], "params.num_leaves": [3, 7]}


def _config(**changes) -> dict:
    config = {
        "name": "tiny", "model": str(CONFIGS / "lightgbm.yaml"), "objective": "mbo_roc_auc", "grid": GRID,
        "fixed": {"data.synthetic_n_persons": N_PERSONS, "data.synthetic_seed": SEED},
        "parallel": {"n_jobs": 2},
    }
    config.update(changes)
    return config


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep-store")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield folder


@pytest.fixture(scope="module")
def local_and_dask(store):
    """The same grid with joblib's default backend (loky) and on a local Dask cluster.

    The sweep finds the cluster through the Dask client running in the process (the way a
    notebook connects); ``backend_options: {scheduler_host: ...}`` hands the address to joblib,
    which connects the same way. The client closes before its cluster, so nothing is left
    trying to reconnect when the tests end.
    """
    from distributed import Client, LocalCluster, get_task_stream

    local = sweep_run(_config(), experiment="grid")
    with (LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster,
          Client(cluster) as client, get_task_stream(client) as tasks):
        on_dask = sweep_run(_config(parallel={"n_jobs": 2, "backend": "dask"}), experiment="grid")
    on_dask.dask_tasks = len(tasks.data)
    return local, on_dask


def test_a_dask_cluster_finds_the_same_best_trial_and_metrics(local_and_dask):
    local, on_dask = local_and_dask
    assert on_dask.dask_tasks >= 1  # the trials went through the cluster's scheduler
    assert len(local.trials) == 4 and (local.trials["state"] == "FINISHED").all()
    assert on_dask.best["number"] == local.best["number"] and on_dask.best["settings"] == local.best["settings"]
    metrics = [c for c in local.trials if c.startswith(("vo_", "mbo_", "all_", "need_share"))]
    assert len(metrics) > 20
    pd.testing.assert_frame_equal(on_dask.trials[["number", *GRID, *metrics]], local.trials[["number", *GRID, *metrics]])


def test_every_trial_is_the_model_its_settings_describe(local_and_dask):
    # Refit each trial's settings directly (no sweep, no joblib) on the same cohorts.
    local, _ = local_and_dask
    frame = generate(N_PERSONS, school_years=[2018, 2019], seed=SEED).frame
    spec = load_model_spec(CONFIGS / "lightgbm.yaml").model_dump(mode="json")
    values = local.trials["mbo_roc_auc"]
    for row in local.trials.loc[[values.idxmax(), values.idxmin()]].to_dict("records"):
        params = {**spec["params"], "n_estimators": row["params.n_estimators"], "num_leaves": row["params.num_leaves"], "n_jobs": 1}
        model = RiskModel.from_spec({**spec, "params": params})
        metrics = out_of_time(model, frame, 2018, 2019, by_group=False).evaluation.metrics
        assert metrics["mbo_roc_auc"] == row["mbo_roc_auc"] and metrics["need_share_l1"] == row["need_share_l1"]
    assert values.nunique() == 4  # the settings did change the model
    assert local.best["value"] == values.max() and local.best["number"] == int(local.trials.loc[values.idxmax(), "number"])


def test_the_sweep_is_a_parent_run_with_the_best_child_marked(local_and_dask):
    local, _ = local_and_dask
    runs = mlflow.search_runs(experiment_names=["grid"])
    children = runs[runs["tags.mlflow.parentRunId"] == local.run_id]
    assert len(children) == 4 and set(children["status"]) == {"FINISHED"}
    best = children[children["tags.best_trial"] == "true"]
    assert len(best) == 1 and best["metrics.mbo_roc_auc"].iloc[0] == children["metrics.mbo_roc_auc"].max()
    parent = runs[runs["run_id"] == local.run_id].iloc[0]
    assert parent["tags.best_trial_run_id"] == best["run_id"].iloc[0]
    assert parent["metrics.best_mbo_roc_auc"] == best["metrics.mbo_roc_auc"].iloc[0]
    assert parent["metrics.best_need_share_l1"] == best["metrics.need_share_l1"].iloc[0]
    assert parent["params.best.params.num_leaves"] == best["params.params.num_leaves"].iloc[0]
    started, ended = children["start_time"], children["end_time"]  # each child keeps its trial's own times
    assert (ended > started).all() and (started >= parent["start_time"]).all() and (ended <= parent["end_time"]).all()


def test_optuna_asks_what_its_seeded_sampler_gives(store):
    import optuna

    space = {"params.num_leaves": {"type": "int", "low": 2, "high": 12},
             "params.learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True}}
    config = _config(search="optuna", grid={}, space=space, n_trials=4, seed=5, objective="need_share_l1")
    result = sweep_run(config, experiment="optuna")
    # The same sampler asked directly: the trials are the seeded sampler's, not the workers' order.
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=5), direction="minimize")
    distributions = {
        "params.num_leaves": optuna.distributions.IntDistribution(2, 12),
        "params.learning_rate": optuna.distributions.FloatDistribution(0.02, 0.3, log=True),
    }
    asked = [study.ask(distributions).params for _ in range(4)]
    trials = result.trials.sort_values("number")
    assert trials[["params.num_leaves", "params.learning_rate"]].to_dict("records") == asked
    assert result.best["value"] == trials["need_share_l1"].min()
    children = mlflow.search_runs(experiment_names=["optuna"], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert len(children) == 4 and children["metrics.need_share_l1"].min() == result.best["value"]


@pytest.mark.parametrize(
    "change, named",
    [
        ({"grid": {"params.num_leaves": [7]}, "colour": "red"}, "colour"),
        ({"objective": "vo_calibration_slope"}, "objective"),
        ({"grid": {"data.train_year": [2017, 2018]}}, "data.train_year"),
        ({"grid": {"calibration": ["none", "platt"]}}, "calibration"),
        ({"grid": {"lerning_rate": [0.1]}}, "lerning_rate"),
        ({"fixed": {"data.synthetic_n_persons": 10}}, "synthetic_n_persons"),
        ({"search": "optuna", "grid": {}, "space": {"params.num_leaves": {"type": "int", "low": 9, "high": 3}}, "n_trials": 2}, "low <= high"),
        ({"search": "optuna", "grid": {}, "space": {"params.num_leaves": {"type": "int", "low": 3, "high": 9}}}, "n_trials"),
        ({"parallel": {"n_jobs": 0}}, "n_jobs"),
        ({"parallel": {"backend": "no-such-backend"}}, "no-such-backend"),
        ({"parallel": {"backend": "dask"}}, "scheduler_host"),
    ],
    ids=[
        "an unknown key is named",
        "an objective that is neither better larger nor smaller is refused",
        "the shared data cannot change between trials",
        "a value the model spec refuses is named before any trial runs",
        "a misspelt key of the model spec is named",
        "a fixed value the model spec refuses is named",
        "an empty range is refused",
        "optuna without n_trials is refused",
        "n_jobs 0 is refused",
        "an unknown backend is named",
        "dask without a cluster says how to name one",
    ],
)
def test_bad_sweep_configs_fail_at_once_with_one_line(store, change, named):
    with pytest.raises(ConfigError) as error:
        sweep_run(_config(**change), experiment="refused")
    assert named in str(error.value) and "\n" not in str(error.value)


def test_a_refused_setting_fails_its_trial_alone_and_the_command_says_so(store, capsys):
    # LightGBM refuses num_leaves 1 at fit time: that trial is FAILED with the reason, the other counts.
    path = store / "sweep.yaml"
    path.write_text(yaml.safe_dump(_config(grid={"params.num_leaves": [1, 3]}, parallel={"n_jobs": 1})))
    assert main(["sweep", "--config", str(path), "--experiment", "command"]) == 0
    printed = capsys.readouterr().out
    assert "failed" in printed and "best: trial 1 (params.num_leaves 3)" in printed and "sweep run id:" in printed
    runs = mlflow.search_runs(experiment_names=["command"])
    children = runs[runs["tags.mlflow.parentRunId"].notna()].sort_values("tags.trial_number")
    assert list(children["status"]) == ["FAILED", "FINISHED"] and "num_leaves" in children["tags.error"].iloc[0]
    assert list(children["tags.best_trial"].fillna("")) == ["", "true"]
    path.write_text(yaml.safe_dump(_config(objective="auc")))
    assert main(["sweep", "--config", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_shipped_sweeps_are_valid():
    from vsvrisk.runs.sweep import load_sweep_config

    for path in sorted(CONFIGS.glob("sweep-*.yaml")):
        config, base = load_sweep_config(path)
        assert config.name and base["learner"] == "lightgbm"
