"""Accountability: who the model is unfair to, what each choice costs each region, drift, a card.

- :mod:`~vsvrisk.audit.fairness`: :func:`audit_predictions` (calibration, ROC-AUC, selection,
  TPR and FPR per group and sector, with fairlearn's ``MetricFrame``, against a reference group)
  and :func:`audit_run` (``audit.csv``, ``audit.html``, manifest).
- :mod:`~vsvrisk.audit.impact`: :func:`impact` and :func:`impact_run`: every region's share and
  amount under alternative modelling choices, against the baseline allocation.
- :mod:`~vsvrisk.audit.drift`: population stability index per feature and the change in
  calibration-in-the-large between the training and the scored cohort, with one-line warnings.
- :mod:`~vsvrisk.audit.card`: :func:`model_card` and :func:`card_run`: a registration in the
  fields of the algorithm register's standard, from the run, its config and its audit.

This package sits on top of the data flow (like :mod:`vsvrisk.runs`): it reads runs and calls
the library, and holds no modelling logic of its own beyond the audit's metrics.
"""

from vsvrisk.audit.card import card_run, model_card
from vsvrisk.audit.drift import (
    calibration_change,
    drift_report,
    drift_warnings,
    population_stability_index,
)
from vsvrisk.audit.fairness import BAND, CHARACTERISTICS, AuditResult, audit_predictions
from vsvrisk.audit.impact import Alternative, ImpactConfig, impact, impact_run, load_impact_config
from vsvrisk.audit.workflow import audit_run

__all__ = [
    "BAND",
    "CHARACTERISTICS",
    "Alternative",
    "AuditResult",
    "ImpactConfig",
    "audit_predictions",
    "audit_run",
    "calibration_change",
    "card_run",
    "drift_report",
    "drift_warnings",
    "impact",
    "impact_run",
    "load_impact_config",
    "model_card",
    "population_stability_index",
]
