"""The predictors that are registrations, and who registers them.

Apart from the analysis (:mod:`~vsvrisk.policy.registration`): the policy config checks its
names without importing pandas.
"""

from __future__ import annotations

from vsvrisk.data.codes import PROBLEM_FLAGS

__all__ = ["REGISTRATIONS"]

#: The predictors that are registrations, and who registers them.
REGISTRATIONS = {
    "psychosocial": "youth care or youth mental health care (municipality, care providers)",
    "crime_suspect": "police: registered as a suspect",
    "problem_debts": "debt counselling: problem debts in the household",
    "benefits_household": "municipality: a parent receives social assistance",
    "parent_crime_suspect": "police: a parent registered as a suspect",
    "parent_mental_health": "specialised mental health care of a parent",
}
if set(REGISTRATIONS) != set(PROBLEM_FLAGS):  # pragma: no cover - the code book is the one list of flags
    raise ImportError("vsvrisk.policy.REGISTRATIONS must name the problem flags of vsvrisk.data.codes")
