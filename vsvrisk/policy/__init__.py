"""Policy analysis: does the allocation keep the promises made to regions and parliament?

A pure library on frames, models and allocation rules (nothing here reads a config or writes
a report; the workflow is :mod:`vsvrisk.runs.policy`):

- :func:`prevention_check` (:mod:`~vsvrisk.policy.prevention`): *a region that prevents
  dropout keeps its money* -- on a synthetic world, one region cuts its true risk, the model is
  refitted, and every region's euros before and after are compared over several seeds;
- :func:`registration_elasticity` (:mod:`~vsvrisk.policy.registration`): *money follows need,
  not paperwork* -- the euros a region gains per additional registered pupil, with the model
  fixed and after a refit; :func:`risks_to_watch` names the largest;
  :func:`expected_registration_gain` (:mod:`~vsvrisk.policy.expected`) gives the same, in
  expectation and cheaply, for an allocation as made (the risk to watch of the allocation
  report and the model card);
- :func:`allocation_path` (:mod:`~vsvrisk.policy.path`): *no region thrown off balance* -- the
  allocation year by year under several dampening bands, and the year each region reaches its
  need-based amount.
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

# Imported on first use (pandas, scikit-learn, joblib with them): the policy config
# (vsvrisk.policy.config) needs none of them, so that it is checked at once.
if TYPE_CHECKING:
    from vsvrisk.policy._registrations import REGISTRATIONS
    from vsvrisk.policy.expected import expected_registration_gain, model_registrations
    from vsvrisk.policy.path import AllocationPath, allocation_path, needs_from_cohorts
    from vsvrisk.policy.prevention import prevented_risk, prevention_check
    from vsvrisk.policy.registration import register_more, registration_elasticity, risks_to_watch

__getattr__, __dir__ = lazy_names(__name__)

__all__ = [
    "REGISTRATIONS",
    "AllocationPath",
    "allocation_path",
    "expected_registration_gain",
    "model_registrations",
    "needs_from_cohorts",
    "prevented_risk",
    "prevention_check",
    "register_more",
    "registration_elasticity",
    "risks_to_watch",
]
