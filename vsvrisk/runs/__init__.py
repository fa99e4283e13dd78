"""The workflows behind the commands (train, compare, allocate), each tracked in MLflow.

They sit on top of the library (data -> features -> models -> explain -> allocate -> report)
and hold no modelling logic of their own: they read inputs, call the library, write outputs
all-or-nothing, and record what they did.
"""

from vsvrisk.runs.allocation import allocate_run
from vsvrisk.runs.training import (
    COMPARE_METRICS,
    TrainRun,
    compare_runs,
    default_config,
    load_model,
    load_spec,
    load_training_data,
    train,
    write_comparison,
)

__all__ = [
    "COMPARE_METRICS",
    "TrainRun",
    "allocate_run",
    "compare_runs",
    "default_config",
    "load_model",
    "load_spec",
    "load_training_data",
    "train",
    "write_comparison",
]
