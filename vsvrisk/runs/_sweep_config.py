"""The sweep config (``configs/sweep-*.yaml``): which model settings to try, how, and where.

A sweep starts from one model spec and changes some of its keys per trial, named by their dotted
path in the spec (``params.num_leaves``, ``calibration``, ``early_stopping_rounds``). Every key
and value is checked against :class:`~vsvrisk.models.ModelSpec` before anything runs, so a typo
fails in a second with one line, not after an hour of trials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from vsvrisk.config import StrictModel, read_config, validate_config
from vsvrisk.exceptions import ConfigError
from vsvrisk.models.spec import ModelSpec, load_model_spec

__all__ = ["SearchDimension", "ParallelSpec", "SweepConfig", "load_sweep_config", "OBJECTIVES", "apply_settings"]

_SECTORS = ("vo", "mbo", "vavo", "all")
#: The metrics a sweep can optimise, each with its direction: measured out of time on the
#: evaluation cohort by :func:`vsvrisk.evaluate.evaluate_predictions` (the distances to the truth
#: need a synthetic population). Calibration slope and intercept are not here: neither larger nor
#: smaller is better.
OBJECTIVES = {
    **{f"{sector}_{name}": "maximize" for sector in _SECTORS for name in ("roc_auc", "pr_auc", "scaled_brier")},
    **{f"{sector}_{name}": "minimize" for sector in _SECTORS for name in ("brier", "log_loss", "mean_abs_error")},
    "need_share_l1": "minimize",
    "need_share_max_error": "minimize",
}
# Keys a trial may not change: the data are drawn or read once and shared by every trial.
_SHARED_KEYS = ("name", "description", "data")


class SearchDimension(StrictModel):
    """One key of an Optuna search: an integer or float range, or a list of choices."""

    type: Literal["int", "float", "categorical"] = Field(..., description="int or float (a range from low to high) or categorical (choices).")
    low: float | None = Field(None, description="Smallest value (int and float).")
    high: float | None = Field(None, description="Largest value, included (int and float).")
    log: bool = Field(False, description="Sample on a log scale (int and float; low must be above 0).")
    step: float | None = Field(None, description="Step between values (int and float); null: any value (float) or 1 (int).")
    choices: list[Any] | None = Field(None, description="The values to choose from (categorical).")

    @model_validator(mode="after")
    def _complete(self):
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical dimension needs choices: a list of values")
        elif self.low is None or self.high is None or self.low > self.high:
            raise ValueError(f"an {self.type} dimension needs low <= high")
        elif self.log and self.low <= 0:
            raise ValueError("log: true needs low above 0")
        return self

    def distribution(self):
        """The Optuna distribution of this dimension."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.type == "categorical":
            return CategoricalDistribution(self.choices)
        if self.type == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def corners(self) -> list[Any]:
        """The values checked against the model spec before the search starts."""
        if self.type == "categorical":
            return list(self.choices)
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]


class ParallelSpec(StrictModel):
    """Where and how many trials run at once: a joblib backend, chosen by name."""

    n_jobs: int = Field(1, ge=-1, description="Trials at once (-1: as many as the backend has workers). Never 0.")
    backend: str = Field(
        "loky",
        description="joblib backend: loky (processes on this machine), threading, dask (a Dask cluster; "
        "pip install 'dask[distributed]'), ray (a Ray cluster; pip install ray), or any other registered one.",
    )
    backend_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to joblib.parallel_config with the backend, e.g. {scheduler_host: 'tcp://10.0.0.5:8786'} "
        "for a Dask cluster (without it, the Dask client already running in the process is used).",
    )
    threads_per_trial: int = Field(
        1, ge=1,
        description="LightGBM threads in each trial (its n_jobs, unless the spec sets it). Fixed, so that a trial's "
        "result does not depend on where it ran.",
    )

    @model_validator(mode="after")
    def _not_zero(self):
        if self.n_jobs == 0:
            raise ValueError("n_jobs 0 runs nothing: give 1 or more, or -1 for every worker")
        return self


class SweepConfig(StrictModel):
    """A sweep: a grid or an Optuna search over the settings of one model spec.

    Examples
    --------
    >>> config = SweepConfig(name="leaves", model="lightgbm.yaml", objective="mbo_roc_auc",
    ...                      grid={"params.num_leaves": [7, 15, 31]})
    >>> config.search, config.direction, config.parallel.backend
    ('grid', 'maximize', 'loky')
    """

    name: str = Field(..., min_length=1, description="Name of the sweep: the parent run in MLflow.")
    description: str = Field("", description="What the sweep is for (the parent run's description).")
    model: Path = Field(..., description="The model spec every trial starts from (relative to this file), e.g. lightgbm.yaml.")
    fixed: dict[str, Any] = Field(
        default_factory=dict,
        description="Keys of the model spec set for every trial, by dotted path, e.g. {data.synthetic_n_persons: 1500000}.",
    )
    search: Literal["grid", "optuna"] = Field(
        "grid", description="grid: every combination of the grid's values; optuna: n_trials trials sampled from space."
    )
    grid: dict[str, list[Any]] = Field(
        default_factory=dict, description="Grid search: values per dotted key, e.g. {params.num_leaves: [7, 15, 31]}."
    )
    space: dict[str, SearchDimension] = Field(
        default_factory=dict, description="Optuna search: a dimension per dotted key, e.g. {params.learning_rate: {type: float, low: 0.01, high: 0.2, log: true}}."
    )
    n_trials: int | None = Field(None, ge=1, description="Optuna search: number of trials.")
    sampler: Literal["tpe", "random"] = Field("tpe", description="Optuna sampler: tpe (learns from earlier trials) or random.")
    seed: int = Field(0, description="Seed of the Optuna sampler: same seed, same trials.")
    objective: str = Field(
        ..., description="The out-of-time metric to optimise: <sector>_roc_auc, _pr_auc, _scaled_brier (maximised), "
        "<sector>_brier, _log_loss, _mean_abs_error, need_share_l1, need_share_max_error (minimised); sector vo, mbo, vavo or all.",
    )
    parallel: ParallelSpec = Field(default_factory=ParallelSpec, description="Where and how many trials run at once.")

    @model_validator(mode="after")
    def _consistent(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective '{self.objective}' is not one a sweep can optimise: choose from {', '.join(OBJECTIVES)}")
        searched = self.grid if self.search == "grid" else self.space
        other = "space" if self.search == "grid" else "grid"
        if not searched:
            raise ValueError(f"search: {self.search} needs '{'grid' if self.search == 'grid' else 'space'}' with at least one key")
        if getattr(self, other):
            raise ValueError(f"'{other}' is for search: {'optuna' if other == 'space' else 'grid'}; remove it or change search")
        if (self.n_trials is None) == (self.search == "optuna"):
            raise ValueError("n_trials is required for search: optuna, and only there (a grid runs every combination)")
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid key '{key}' has no values")
        for key in (*self.grid, *self.space):
            if key.split(".")[0] in _SHARED_KEYS:
                raise ValueError(f"'{key}' cannot change between trials: the data are shared by every trial; set it under fixed")
        return self

    @property
    def direction(self) -> str:
        """``maximize`` or ``minimize``: the direction of the objective."""
        return OBJECTIVES[self.objective]


def apply_settings(spec: dict, settings: dict[str, Any]) -> dict:
    """A copy of a model spec (as a dict) with keys set by their dotted path.

    Examples
    --------
    >>> apply_settings({"params": {"num_leaves": 31}, "seed": 0}, {"params.num_leaves": 7, "seed": 1})
    {'params': {'num_leaves': 7}, 'seed': 1}
    """
    import copy

    spec = copy.deepcopy(spec)
    for key, value in settings.items():
        *parents, last = key.split(".")
        node = spec
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"'{key}': '{part}' is not a section of the model spec")
        node[last] = value
    return spec


def _check_trials(config: SweepConfig, base: dict, source: str) -> None:
    # Every value a trial can take goes through the model spec's own validation first.
    candidates = [(key, value) for key, values in config.grid.items() for value in values]
    candidates += [(key, value) for key, dimension in config.space.items() for value in dimension.corners()]
    for key, value in candidates:
        if key.split(".")[0] not in ModelSpec.model_fields:
            raise ConfigError(f"{source}: '{key}' is not a key of the model spec: check its spelling (docs/configuration.md)")
        try:
            validate_config(apply_settings(base, {key: value}), ModelSpec, source="")
        except ConfigError as error:
            raise ConfigError(f"{source}: '{key}: {value!r}' makes an invalid model spec:{str(error).split(':', 1)[1]}") from None


def load_sweep_config(config) -> tuple[SweepConfig, dict]:
    """Read and check a sweep config; return it with the base model spec (``fixed`` applied).

    Parameters
    ----------
    config : SweepConfig, dict or path
        The sweep (a dict's ``model`` path is read from the working directory).

    Returns
    -------
    config : SweepConfig
    base : dict
        The model spec every trial starts from, as a dict (validated).
    """
    given = isinstance(config, SweepConfig)
    config, source = read_config(config, SweepConfig, "sweep config")
    if given:
        source = f"sweep {config.name}"
    for key in config.fixed:
        if key.split(".")[0] not in ModelSpec.model_fields:
            raise ConfigError(f"{source}: fixed key '{key}' is not a key of the model spec: check its spelling")
    base = load_model_spec(config.model).model_dump(mode="json")
    base = validate_config(apply_settings(base, config.fixed), ModelSpec, source=f"{source}: fixed").model_dump(mode="json")
    _check_trials(config, base, source)
    return config, base
