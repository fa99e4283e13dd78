"""The workflows behind the commands, each tracked in MLflow.

They sit on top of the library (data -> features -> models -> explain -> allocate -> report,
audit) and hold no modelling logic of their own: they read inputs, call the library, write
outputs all-or-nothing, and record what they did. No library package imports this one.

- :func:`train`: ``vsvrisk train``; :func:`compare_runs`, :func:`write_comparison`: ``vsvrisk compare``
  (:func:`runs_table` lists the runs with their logged metrics);
- :func:`explain_run`: ``vsvrisk explain``; :func:`audit_run`: ``vsvrisk audit``;
- :func:`impact_run`: ``vsvrisk impact``; :func:`card_run`: ``vsvrisk card``;
- :func:`allocate_run`: ``vsvrisk allocate``;
- :func:`prevention_run`, :func:`registration_run`, :func:`path_run`: ``vsvrisk policy ...``;
- :func:`sweep_run`: ``vsvrisk sweep`` (a grid or an Optuna search, a child run per trial;
  :func:`load_sweep_config` checks a sweep config without running it).

``load_model``, ``load_spec`` (:mod:`vsvrisk.tracking`), ``load_training_data``
(:mod:`vsvrisk.cohorts`) and ``default_config`` (:mod:`vsvrisk.config`) are re-exported here
for notebooks.
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

if TYPE_CHECKING:  # what the names are, for type checkers and the API reference (griffe)
    from vsvrisk.cohorts import load_training_data
    from vsvrisk.config import default_config
    from vsvrisk.runs._sweep_config import load_sweep_config
    from vsvrisk.runs.allocation import allocate_run
    from vsvrisk.runs.audit import audit_run
    from vsvrisk.runs.card import card_run
    from vsvrisk.runs.comparison import RUNS_TABLE_METRICS, RunComparison, compare_runs, runs_table, write_comparison
    from vsvrisk.runs.explanation import explain_run
    from vsvrisk.runs.impact import impact_run
    from vsvrisk.runs.policy import path_run, prevention_run, registration_run
    from vsvrisk.runs.sweep import SweepConfig, SweepResult, sweep_run
    from vsvrisk.runs.training import TrainRun, train
    from vsvrisk.tracking import load_model, load_spec

# Each workflow is imported when it is first used (PEP 562), not with the package: a command
# imports only what it runs, and the command line answers help and bad input without loading
# the modelling stack. vsvrisk._lazy reads each name's home from the imports above.
__getattr__, __dir__ = lazy_names(__name__)

__all__ = [
    "RUNS_TABLE_METRICS",
    "RunComparison",
    "SweepConfig",
    "SweepResult",
    "TrainRun",
    "allocate_run",
    "audit_run",
    "card_run",
    "compare_runs",
    "default_config",
    "explain_run",
    "impact_run",
    "load_model",
    "load_spec",
    "load_sweep_config",
    "load_training_data",
    "path_run",
    "prevention_run",
    "registration_run",
    "runs_table",
    "sweep_run",
    "train",
    "write_comparison",
]
