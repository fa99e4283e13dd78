"""The workflows behind the commands, each tracked in MLflow.

They sit on top of the library (data -> features -> models -> explain -> allocate -> report,
audit) and hold no modelling logic of their own: they read inputs, call the library, write
outputs all-or-nothing, and record what they did. No library package imports this one.

- :func:`train`, :func:`compare_runs`, :func:`write_comparison`: ``vsvrisk train`` / ``compare``;
- :func:`explain_run`: ``vsvrisk explain``; :func:`audit_run`: ``vsvrisk audit``;
- :func:`impact_run`: ``vsvrisk impact``; :func:`card_run`: ``vsvrisk card``;
- :func:`allocate_run`: ``vsvrisk allocate``;
- :func:`sweep_run`: ``vsvrisk sweep`` (a grid or an Optuna search, a child run per trial).

``load_model``, ``load_spec`` (:mod:`vsvrisk.tracking`), ``load_training_data``
(:mod:`vsvrisk.cohorts`) and ``default_config`` (:mod:`vsvrisk.config`) are re-exported here
for notebooks.
"""

from vsvrisk.cohorts import load_training_data
from vsvrisk.config import default_config
from vsvrisk.runs.allocation import allocate_run
from vsvrisk.runs.audit import audit_run
from vsvrisk.runs.card import card_run
from vsvrisk.runs.explanation import explain_run
from vsvrisk.runs.impact import impact_run
from vsvrisk.runs.sweep import SweepConfig, SweepResult, sweep_run
from vsvrisk.runs.training import COMPARE_METRICS, TrainRun, compare_runs, train, write_comparison
from vsvrisk.tracking import load_model, load_spec

__all__ = [
    "COMPARE_METRICS",
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
    "load_training_data",
    "sweep_run",
    "train",
    "write_comparison",
]
