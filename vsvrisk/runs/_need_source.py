"""Where an allocation's need comes from, checked before anything is imported or read.

Apart from :mod:`vsvrisk.runs.allocation` (which imports NumPy), so that the command line
refuses a wrong combination of options at once.
"""

from __future__ import annotations

from vsvrisk.exceptions import ConfigError

__all__ = ["check_need_source"]


def check_need_source(need, run_id, model_uri, data) -> None:
    """Refuse anything but one source of need, and a cohort to score without a model to score it.

    Parameters
    ----------
    need, run_id, model_uri, data : optional
        The need table, the training run, the registered model and the cohort (None: not given).

    Raises
    ------
    ConfigError
        Not exactly one of ``need``, ``run_id``, ``model_uri``; or ``data`` with a need table.

    Examples
    --------
    >>> check_need_source("need.csv", None, None, None)
    >>> check_need_source(None, None, None, None)
    Traceback (most recent call last):
    ...
    vsvrisk.exceptions.ConfigError: give one of --need FILE, --run RUN_ID or --model models:/NAME@ALIAS (with or without --data)
    """
    if sum(source is not None for source in (need, run_id, model_uri)) != 1:
        raise ConfigError("give one of --need FILE, --run RUN_ID or --model models:/NAME@ALIAS (with or without --data)")
    if data is not None and run_id is None and model_uri is None:
        raise ConfigError("--data needs --run or --model: the cohort is scored with a model")
