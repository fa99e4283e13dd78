"""Allocation: need per region -> shares -> euros, with uncertainty (DESIGN section 9).

A pure library: nothing here reads a model or writes a report.

- :mod:`~vsvrisk.allocate.rules`: :class:`AllocationRules` and :func:`allocate` -- the rules
  of section 9, solved exactly, rounded to whole euros by largest remainder.
- :mod:`~vsvrisk.allocate.need`: need per region from predictions (scenarios ``all`` and
  ``top_share``); :mod:`~vsvrisk.allocate.tables`: need from a csv, and last year's amounts.
- :mod:`~vsvrisk.allocate.uncertainty`: Poisson bootstrap of need over persons and the
  intervals that the rules give on it.
- :mod:`~vsvrisk.allocate.config`: the YAML config (:class:`AllocationConfig`).
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

# Imported on first use (NumPy, pandas and SciPy with them): the config and the settings it
# checks (config, _settings) need none of them, so that a config is checked at once.
if TYPE_CHECKING:
    from vsvrisk.allocate._settings import AllocationRules, Scenario, TopShare, parse_scenario
    from vsvrisk.allocate.config import AllocationConfig, load_allocation_config
    from vsvrisk.allocate.need import need_from_predictions
    from vsvrisk.allocate.rules import InfeasibleRulesError, allocate, largest_remainder
    from vsvrisk.allocate.tables import need_from_table, read_previous_allocation
    from vsvrisk.allocate.uncertainty import allocation_intervals, bootstrap_need, replicate_weights, weighted_need

__getattr__, __dir__ = lazy_names(__name__)

__all__ = [
    "AllocationConfig",
    "AllocationRules",
    "InfeasibleRulesError",
    "Scenario",
    "TopShare",
    "allocate",
    "allocation_intervals",
    "bootstrap_need",
    "largest_remainder",
    "load_allocation_config",
    "need_from_predictions",
    "need_from_table",
    "parse_scenario",
    "read_previous_allocation",
    "replicate_weights",
    "weighted_need",
]
