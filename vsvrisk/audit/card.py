"""A model card for the public algorithm register, in the fields of its metadata standard.

The Dutch Algoritmeregister follows the open *Algorithmic Transparency Standard* (the
"Standaard voor Algoritmische Transparantie", v0.3.1, https://standaard.algoritmeregister.org);
the card uses its attribute names (``name``, ``organization``, ``description_short``, ``goal``,
``lawful_basis``, ...) plus one extension, ``fairness_findings``. Each field says where its text
comes from:

- ``run``: read from the MLflow run (spec, data tags, metrics) -- facts;
- ``audit``: from the run's fairness audit;
- ``vsvrisk documentation (draft)``: what the software is built for (DESIGN.md); the
  responsible organisation must confirm or rewrite it;
- ``person``: only a person of the responsible organisation can fill it in (who is
  responsible, a legal decision, a weighing of proportionality). Such text is the marker
  :data:`TO_BE_FILLED_IN`, never a guess.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vsvrisk import __version__

__all__ = ["TO_BE_FILLED_IN", "STANDARD", "model_card"]

TO_BE_FILLED_IN = "TO BE FILLED IN BY THE RESPONSIBLE ORGANISATION"
STANDARD = {"name": "Algorithmic Transparency Standard (Algoritmeregister)", "version": "0.3.1",
            "url": "https://standaard.algoritmeregister.org"}
_RUN, _AUDIT, _DRAFT, _PERSON = "run", "audit", "vsvrisk documentation (draft: confirm or rewrite)", "person"
_METRICS = (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("brier", "Brier"), ("oe_ratio", "observed/expected"),
            ("calibration_intercept", "calibration intercept"), ("calibration_slope", "calibration slope"))


def _todo(what: str) -> str:
    return f"{TO_BE_FILLED_IN}: {what}"


def _field(label: str, value: str, source: str) -> dict:
    return {"label": label, "value": value, "source": source}


def _audit_table(run_id: str, audit) -> pd.DataFrame | None:
    """The audit table: given (an AuditResult, a table, a folder or csv), or the run's own."""
    if audit is not None:
        if hasattr(audit, "table"):
            return audit.table
        if isinstance(audit, pd.DataFrame):
            return audit
        path = Path(audit)
        path = path / "audit.csv" if path.is_dir() else path
        if not path.is_file():
            from vsvrisk.exceptions import ConfigError

            raise ConfigError(f"card: audit {audit} not found: give an audit folder (vsvrisk audit --out) or its audit.csv")
        return pd.read_csv(path)
    import tempfile

    import mlflow.artifacts

    from vsvrisk import tracking

    # The newest audit child run of the training run; runs made before audits became child
    # runs kept theirs in the training run itself.
    candidates = [child.info.run_id for child in tracking.child_runs(run_id, "audit")] + [run_id]
    with tempfile.TemporaryDirectory() as folder:
        for candidate in candidates:
            try:
                path = mlflow.artifacts.download_artifacts(run_id=candidate, artifact_path="audit/audit.csv",
                                                           dst_path=folder)
            except Exception:  # no audit in this run: try the next; none at all: the card says so
                continue
            return pd.read_csv(path)
    return None


def _fairness(table: pd.DataFrame | None) -> tuple[str, str]:
    if table is None:
        return ("No fairness audit was found for this run: run `vsvrisk audit --run RUN_ID` and make the card "
                "again.", _RUN)
    flag = table["flag"].astype(str).str.lower() == "true"
    references = table[table["is_reference"].astype(str).str.lower() == "true"].set_index(["sector", "characteristic"])["level"]
    lines = [f"The audit compared {int((table['is_reference'].astype(str).str.lower() != 'true').sum())} groups "
             "(migration background, gender, urbanisation, wealth group and pairs of them, per sector) with a "
             "reference group on calibration (observed/expected), ROC-AUC, and the selection, TPR and FPR at the "
             "national top-40% cut-off. A group is flagged when its observed/expected is outside 0.8-1.25 times "
             "the reference's and the (simultaneous) interval of that ratio excludes 1."]
    if not flag.any():
        lines.append("No group is flagged.")
    for row in table[flag].itertuples(index=False):
        reference = references.get((row.sector, row.characteristic), "?")
        lines.append(f"Flagged: {row.sector}, {row.characteristic} = {row.level}: observed/expected {row.oe:.2f}, "
                     f"{row.oe_ratio:.2f} times the reference ({reference}), interval "
                     f"{row.oe_ratio_low:.2f}-{row.oe_ratio_high:.2f}.")
    return "\n".join(lines), _AUDIT


def _performance(metrics: dict, spec) -> str:
    lines = [f"Out of time: fitted on school year {spec.data.train_year}/{spec.data.train_year + 1}, evaluated on "
             f"{spec.data.eval_year}/{spec.data.eval_year + 1} ({int(metrics.get('n_eval', 0)):,} persons)."]
    for sector in ("vo", "mbo", "vavo", "all"):
        parts = [f"{label} {metrics[f'{sector}_{key}']:.3f}" for key, label in _METRICS if f"{sector}_{key}" in metrics]
        if parts:
            lines.append(f"{sector}: " + ", ".join(parts) + ".")
    if "need_share_l1" in metrics:
        lines.append(f"Synthetic data: the regional need shares differ from the true shares by "
                     f"{metrics['need_share_l1']:.4f} in total (sum of absolute differences).")
    return "\n".join(lines)


def model_card(run_id: str, *, audit=None) -> dict:
    """A registration for the algorithm register, filled in from a run, its spec and its audit.

    Parameters
    ----------
    run_id : str
        A training run (``vsvrisk train``).
    audit : AuditResult, DataFrame or path, optional
        The fairness audit; by default the newest one logged for the run (``vsvrisk audit``), if any.

    Returns
    -------
    dict
        ``standard``, ``generated_by``, ``run_id``, ``to_be_filled_in`` (the marker),
        ``fields`` (attribute -> ``label``, ``value``, ``source``) and ``to_be_filled``
        (the attributes that still hold the marker).
    """
    from vsvrisk import tracking

    run = tracking.load_run(run_id)
    spec = tracking.load_spec(run_id)
    metrics, tags = dict(run.data.metrics), dict(run.data.tags)
    learner = {"logistic": "logistic regression (unpenalised, main effects, odds ratios published)",
               "lightgbm": "gradient-boosted decision trees (LightGBM)"}[spec.learner]
    groups = "one model for vo and one for mbo (vavo with mbo)" if spec.sectors == "separate" else "one pooled model"
    features = "; ".join(f"{group}: {', '.join(names)}" for group, names in spec.features.items())
    fairness, fairness_source = _fairness(_audit_table(run_id, audit))
    fields = {
        "name": _field("Name", f"Regional need for the early-school-leaving budget (model {spec.name})", _DRAFT),
        "organization": _field("Responsible organisation", _todo("the official name of the organisation responsible"), _PERSON),
        "department": _field("Department", _todo("the department or team that uses the algorithm"), _PERSON),
        "contact_email": _field("Contact e-mail", _todo("where citizens and journalists can ask questions"), _PERSON),
        "status": _field("Status", _todo("planned, design, development, pilot, evaluation, operational or retired"), _PERSON),
        "description_short": _field("Short description", "Predicts each pupil's chance of leaving school without a "
                                    "basic qualification; each region's summed chances split the vsv budget.", _DRAFT),
        "domain": _field("Domain", "education and science", _DRAFT),
        "area": _field("Geographical area", "The Netherlands: the 40 RMC / Doorstroompunt regions.", _DRAFT),
        "decision_making_process": _field("Decision-making process", (
            "The yearly split of the budget for the regional programme against early school leaving over the 40 "
            "regions (Regeling regionaal programma en Doorstroompuntfunctie 2026-2029). The model's predicted "
            "chances are summed per region into need; the budget follows need under rules written down in the "
            "allocation config (base amount, floor, dampening against last year), with intervals on every share.\n"
            + _todo("who decides on the amounts, and how the outcome is adopted")), _DRAFT),
        "goal": _field("Goal", (
            "Fund every region's programme against early school leaving in proportion to its need: the expected "
            "number of pupils who leave school without a startkwalificatie. Predicted rather than observed "
            "dropout is used on purpose, so that a region that brings its dropout down does not lose money.\n"
            + _todo("the policy goals this serves, in the organisation's words")), _DRAFT),
        "impact": _field("Impact", (
            "No decision is made about a person: pupils are only counted, in aggregate, per region. The outcome "
            "is the amount each region receives; a model that underestimates the risk of a group moves money "
            "away from the regions where that group lives (see fairness_findings).\n"
            + _todo("the expected consequences for regions, schools and pupils")), _DRAFT),
        "risks": _field("Risks and mitigation", (
            "Miscalibration for a group or sector moves money: calibration is reported per sector and region "
            "and audited per group. Migration background is never a predictor (checked at fit time) and used "
            "only in the audit. Cohorts drift: a warning when a characteristic's population stability index "
            "exceeds 0.2. Chance variation: intervals on every share, and a dampening band. Privacy: only "
            "aggregates leave the data environment, cells under 10 persons suppressed.\n"
            + _todo("the risk assessment used (for example an IAMA) and its conclusions")), _DRAFT),
        "risk_category": _field("Risk category", _todo("minimal, limited, high or unacceptable risk"), _PERSON),
        "proportionality": _field("Proportionality", _todo(
            "why the use is necessary and why its benefits outweigh its possible harm"), _PERSON),
        "lawful_basis": _field("Lawful basis", (
            "Wet van school naar duurzaam werk (the regional programme and the Doorstroompunt regions); "
            "Regeling regionaal programma en Doorstroompuntfunctie 2026-2029 (the amounts).\n"
            + _todo("the articles, and the formal decision that approves the use of this model")), _DRAFT),
        "training_data": _field("Training data", (
            f"Source: {tags.get('data_source', 'unknown')}"
            + (f" ({tags['data_path']})" if tags.get("data_path") else "") + f", SHA-256 {tags.get('data_sha256', '?')}. "
            f"Fitted on school year {spec.data.train_year}/{spec.data.train_year + 1} "
            f"({int(metrics.get('n_train', 0)):,} persons). Features per model: {features}. "
            f"Never used as a feature: {', '.join(spec.excluded_features)}."), _RUN),
        "source_data": _field("Source data", (
            "One row per pupil per school year: pupils under the upper age in publicly funded vo, mbo and vavo "
            "without a startkwalificatie, with background characteristics from CBS microdata (Remote Access).\n"
            + _todo("the registers linked and the agreements under which they are used")), _DRAFT),
        "algorithm_type": _field("Type of algorithm", "self-learning", _RUN),
        "methods_and_models": _field("Methods and models", (
            f"{learner}; {groups}; recalibration: {spec.calibration}; seed {spec.seed}. Need per region: the sum "
            "of predicted chances (scenario all) or of those in the national top 40% (scenario 4)."), _RUN),
        "performance": _field("Performance", _performance(metrics, spec), _RUN),
        "type": _field("Type of use", "predictive", _RUN),
        "monitoring": _field("Performance monitoring", (
            "For every new cohort: out-of-time evaluation, the fairness audit and drift checks (population "
            "stability index per characteristic, change in calibration-in-the-large).\n"
            + _todo("how often, by whom, and what happens when a check fails")), _DRAFT),
        "human_intervention": _field("Human intervention", (
            "The model only counts; people set the rules and the budget in the allocation config, and every "
            "allocation comes with a manifest from which it can be recomputed.\n"
            + _todo("who reviews the outcome before it is adopted and who may change it")), _DRAFT),
        "objection_procedure": _field("Objection procedure", _todo("how a region or citizen can object"), _PERSON),
        "fairness_findings": _field("Fairness findings (extension)", fairness, fairness_source),
    }
    return {"standard": dict(STANDARD), "generated_by": f"vsvrisk {__version__}", "run_id": run_id,
            "to_be_filled_in": TO_BE_FILLED_IN, "fields": fields,
            "to_be_filled": [key for key, field in fields.items() if TO_BE_FILLED_IN in field["value"]]}
