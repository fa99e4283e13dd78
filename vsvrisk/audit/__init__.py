"""Accountability: who the model is unfair to, what each choice costs each region, drift, a card.

- :mod:`~vsvrisk.audit.fairness`: :func:`audit_predictions` (calibration, ROC-AUC, selection,
  TPR and FPR per group and sector, with bootstrap intervals, against a reference group).
- :mod:`~vsvrisk.audit.impact`: :func:`impact`: every region's share and
  amount under alternative modelling choices, against the baseline allocation.
- :mod:`~vsvrisk.audit.drift`: population stability index per feature and the change in
  calibration-in-the-large between the training and the scored cohort, with one-line warnings.
- :mod:`~vsvrisk.audit.card`: :func:`model_card`: a registration in the
  fields of the algorithm register's standard, from the run, its config and its audit.

The workflows that read a run and write these reports (``audit_run``, ``impact_run``,
``card_run``) are in :mod:`vsvrisk.runs`.
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

# Imported on first use (pandas, scikit-learn, matplotlib with them): the impact config
# (_impact_config) needs none of them, so that it is checked at once.
if TYPE_CHECKING:
    from vsvrisk.audit._impact_config import Alternative, ImpactConfig, load_impact_config
    from vsvrisk.audit.card import model_card
    from vsvrisk.audit.drift import calibration_change, drift_report, drift_warnings, population_stability_index
    from vsvrisk.audit.fairness import BAND, CHARACTERISTICS, AuditResult, audit_predictions
    from vsvrisk.audit.impact import impact

__getattr__, __dir__ = lazy_names(__name__)

__all__ = [
    "BAND",
    "CHARACTERISTICS",
    "Alternative",
    "AuditResult",
    "ImpactConfig",
    "audit_predictions",
    "calibration_change",
    "drift_report",
    "drift_warnings",
    "impact",
    "load_impact_config",
    "model_card",
    "population_stability_index",
]
