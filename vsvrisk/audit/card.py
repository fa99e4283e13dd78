"""A model card for the public algorithm register, in the fields of its metadata standard.

The Dutch Algoritmeregister follows the open *Algorithmic Transparency Standard* (the
"Standaard voor Algoritmische Transparantie", v0.3.1, https://standaard.algoritmeregister.org);
the card uses its attribute names (``name``, ``organization``, ``description_short``, ``goal``,
``lawful_basis``, ...) plus one extension, ``fairness_findings``. Each field says where its text
comes from:

- ``run``: read from the MLflow run (spec, data tags, metrics) -- facts;
- ``audit``: from the run's fairness audit;
- the risks field also names the registrations that move the most money, from the run's
  allocation (``vsvrisk allocate --run``: euros per additional registered pupil, model and rules
  fixed);
- ``vsvrisk documentation (draft)``: what the software is built for (DESIGN.md); the
  responsible organisation must confirm or rewrite it;
- ``person``: only a person of the responsible organisation can fill it in (who is
  responsible, a legal decision, a weighing of proportionality). Such text is the marker
  :data:`TO_BE_FILLED_IN`, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from vsvrisk import __version__
from vsvrisk.audit.html import group_label
from vsvrisk.report.glossary import check_language, glossary
from vsvrisk.report.watch import watch_sentences

__all__ = ["TO_BE_FILLED_IN", "STANDARD", "SOURCES", "model_card"]

#: The marker of a field only a person can fill in, per language (English: the constant).
TO_BE_FILLED_IN = "TO BE FILLED IN BY THE RESPONSIBLE ORGANISATION"
_MARKERS = {"en": TO_BE_FILLED_IN, "nl": "IN TE VULLEN DOOR DE VERANTWOORDELIJKE ORGANISATIE"}
STANDARD = {"name": "Algorithmic Transparency Standard (Algoritmeregister)", "version": "0.3.1",
            "url": "https://standaard.algoritmeregister.org"}
_RUN, _AUDIT, _DRAFT, _PERSON = "run", "audit", "vsvrisk documentation (draft: confirm or rewrite)", "person"
#: Where a field's text comes from, in words (the card's ``source`` keeps the codes above).
SOURCES = {_RUN: ("de modelrun", "the model run"), _AUDIT: ("de eerlijkheidsaudit", "the fairness audit"),
           _DRAFT: ("documentatie van vsvrisk (concept: bevestigen of herschrijven)",
                    "vsvrisk documentation (draft: confirm or rewrite)"),
           _PERSON: ("een persoon van de verantwoordelijke organisatie", "a person of the responsible organisation")}
_METRICS = (("roc_auc", "ROC-AUC", "ROC-AUC"), ("pr_auc", "PR-AUC", "PR-AUC"), ("brier", "Brier", "Brier"),
            ("oe_ratio", "waargenomen/verwacht", "observed/expected"),
            ("calibration_intercept", "kalibratie-intercept", "calibration intercept"),
            ("calibration_slope", "kalibratiehelling", "calibration slope"))


def _translator(lang: str):
    """``t(nl, en)``: the text in the card's language."""
    return lambda nl, en: nl if lang == "nl" else en


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
    return _logged_artifact(run_id, "audit", "audit/audit.csv", pd.read_csv)


def _logged_artifact(run_id: str, kind: str, artifact_path: str, read):
    """``read`` of an artifact of the newest ``kind`` child run of a training run, or None.

    Runs made before explain/allocate/audit became child runs kept their folders in the
    training run itself, so that run is tried last.
    """
    import tempfile

    import mlflow.artifacts

    from vsvrisk import tracking

    with tempfile.TemporaryDirectory() as folder:
        for candidate in [child.info.run_id for child in tracking.child_runs(run_id, kind)] + [run_id]:
            try:
                path = mlflow.artifacts.download_artifacts(run_id=candidate, artifact_path=artifact_path,
                                                           dst_path=folder)
            except Exception:  # not in this run: try the next; in none: the card says so
                continue
            return read(Path(path))
    return None


def _allocation_manifest(run_id: str, allocation) -> dict | None:
    """The manifest of the run's allocation: given (a folder, its manifest.json, or the mapping), or
    the one logged to the run (``vsvrisk allocate --run``); None when there is none."""
    import json

    if isinstance(allocation, Mapping):
        return dict(allocation)
    if allocation is not None:
        path = Path(allocation)
        path = path / "manifest.json" if path.is_dir() else path
        if not path.is_file():
            from vsvrisk.exceptions import ConfigError

            raise ConfigError(f"card: allocation {allocation} not found: give an allocation folder (vsvrisk allocate --out)")
        return json.loads(path.read_text(encoding="utf-8"))
    return _logged_artifact(run_id, "allocate", "allocation/manifest.json",
                            lambda path: json.loads(path.read_text(encoding="utf-8")))


def _registrations(manifest: dict | None, lang: str, n_regions: int = 3) -> str:
    """The risk to watch: euros per additional registered pupil, nationally and the largest regions."""
    _t, g = _translator(lang), glossary(lang)
    lead = _t("Registraties: een deel van de voorspellers zijn registraties door lokale instanties (jeugdzorg, politie, "
              "schuldhulpverlening); een regio die meer van haar leerlingen registreert, krijgt meer geld zonder dat "
              "een leerling meer risico loopt.",
              "Registrations: some predictors are registrations by local bodies (youth care, police, debt "
              "counselling); a region that registers more of its pupils gets more money without any pupil being at "
              "more risk.")
    if manifest is None:
        return lead + " " + _t("Voor deze run is geen verdeling gevonden: draai ‘vsvrisk allocate --run RUN_ID’ en maak "
                               "de kaart opnieuw.", "No allocation was found for this run: run `vsvrisk allocate "
                               "--run RUN_ID` and make the card again.")
    watch = (manifest.get("extra") or {}).get("registration_watch")
    if not watch:
        return lead + " " + _t("Dit model gebruikt geen registratie als voorspeller.",
                               "This model uses no registration as a predictor.")
    rows = [*watch.get("national", []), *watch.get("regions", [])[:n_regions]]
    return (lead + " " + _t("Om in de gaten te houden, in de verdeling van deze run (model en regels vast; niets voor "
                            "een regio die door een regel wordt vastgehouden): ",
                            "To watch, in this run's allocation (model and rules fixed; nothing for a region held "
                            "by a rule): ") + " ".join(watch_sentences(rows, g)))


def _fairness(table: pd.DataFrame | None, lang: str) -> tuple[str, str]:
    _t = _translator(lang)
    if table is None:
        return (_t("Voor deze run is geen eerlijkheidsaudit gevonden: draai ‘vsvrisk audit --run RUN_ID’ en maak "
                   "de kaart opnieuw.", "No fairness audit was found for this run: run `vsvrisk audit --run RUN_ID` "
                   "and make the card again."), _RUN)
    flag = table["flag"].astype(str).str.lower() == "true"
    references = table[table["is_reference"].astype(str).str.lower() == "true"].set_index(["sector", "characteristic"])["level"]
    g = glossary(lang)
    groups = int((table["is_reference"].astype(str).str.lower() != "true").sum())
    lines = [_t(f"De audit vergeleek {groups} groepen (migratieachtergrond, geslacht, stedelijkheid, vermogensgroep "
                "en paren daarvan, per onderwijssoort) met een referentiegroep op kalibratie (waargenomen/verwacht), "
                "ROC-AUC, en de selectie, TPR en FPR bij de landelijke top-40%-grens. Een groep krijgt een signaal "
                "als haar waargenomen/verwacht buiten 0,8-1,25 keer die van de referentie ligt en het (gelijktijdige) "
                "interval van die verhouding 1 uitsluit.",
                f"The audit compared {groups} groups (migration background, gender, urbanisation, wealth group and "
                "pairs of them, per sector) with a reference group on calibration (observed/expected), ROC-AUC, and "
                "the selection, TPR and FPR at the national top-40% cut-off. A group is flagged when its "
                "observed/expected is outside 0.8-1.25 times the reference's and the (simultaneous) interval of "
                "that ratio excludes 1.")]
    if not flag.any():
        lines.append(_t("Geen enkele groep krijgt een signaal.", "No group is flagged."))
    for row in table[flag].itertuples(index=False):
        name, level = group_label(row.characteristic, row.level, g)
        _, reference = group_label(row.characteristic, references.get((row.sector, row.characteristic), "?"), g)
        where = g.level("sector", row.sector)
        lines.append(_t(f"Signaal: {where}, {name} {level}: waargenomen/verwacht {g.number(row.oe, 2)}, "
                        f"{g.number(row.oe_ratio, 2)} keer de referentie ({reference}), interval "
                        f"{g.number(row.oe_ratio_low, 2)}-{g.number(row.oe_ratio_high, 2)}.",
                        f"Flagged: {where}, {name} {level}: observed/expected {g.number(row.oe, 2)}, "
                        f"{g.number(row.oe_ratio, 2)} times the reference ({reference}), interval "
                        f"{g.number(row.oe_ratio_low, 2)}-{g.number(row.oe_ratio_high, 2)}."))
    return "\n".join(lines), _AUDIT


def _performance(metrics: dict, spec, lang: str) -> str:
    _t = _translator(lang)
    g = glossary(lang)
    train, test = g.school_year(spec.data.train_year), g.school_year(spec.data.eval_year)
    persons = g.number(metrics.get("n_eval", 0))
    lines = [_t(f"Buiten de tijd: geschat op schooljaar {train}, getoetst op {test} ({persons} leerlingen).",
                f"Out of time: fitted on school year {train}, evaluated on {test} ({persons} persons).")]
    for sector in ("vo", "mbo", "vavo", "all"):
        parts = [f"{_t(nl, en)} {g.number(metrics[f'{sector}_{key}'], 3)}" for key, nl, en in _METRICS
                 if f"{sector}_{key}" in metrics]
        if parts:
            lines.append(f"{g.level('sector', sector)}: " + ", ".join(parts) + ".")
    if "need_share_l1" in metrics:
        lines.append(_t(f"Synthetische gegevens: de regionale aandelen in de behoefte wijken in totaal "
                        f"{g.number(metrics['need_share_l1'], 4)} af van de ware aandelen (som van de absolute verschillen).",
                        f"Synthetic data: the regional need shares differ from the true shares by "
                        f"{g.number(metrics['need_share_l1'], 4)} in total (sum of absolute differences)."))
    return "\n".join(lines)


def model_card(run_id: str, *, audit=None, allocation=None, lang: str = "nl") -> dict:
    """A registration for the algorithm register, filled in from a run, its spec and its audit.

    Parameters
    ----------
    run_id : str
        A training run (``vsvrisk train``).
    audit : AuditResult, DataFrame or path, optional
        The fairness audit; by default the newest one logged for the run (``vsvrisk audit``), if any.
    allocation : path or mapping, optional
        The run's allocation (its folder, its ``manifest.json``, or the mapping), whose risk to
        watch the risks field names; by default the newest one logged for the run (``vsvrisk
        allocate --run``), if any.
    lang : {"nl", "en"}, default="nl"
        The language of the labels and texts (the register is Dutch; English on request).

    Returns
    -------
    dict
        ``standard``, ``generated_by``, ``run_id``, ``lang``, ``to_be_filled_in`` (the marker),
        ``fields`` (attribute -> ``label``, ``value``, ``source``) and ``to_be_filled``
        (the attributes that still hold the marker).
    """
    from vsvrisk import tracking

    check_language(lang)
    t, marker = _translator(lang), _MARKERS[lang]

    def todo(nl: str, en: str) -> str:
        return f"{marker}: {t(nl, en)}"

    run = tracking.load_run(run_id)
    spec = tracking.load_spec(run_id)
    metrics, tags = dict(run.data.metrics), dict(run.data.tags)
    g = glossary(lang)
    learner = {"logistic": t("logistische regressie (zonder straf, hoofdeffecten, odds ratio’s gepubliceerd)",
                             "logistic regression (unpenalised, main effects, odds ratios published)"),
               "lightgbm": t("gradient-boosted beslisbomen (LightGBM)", "gradient-boosted decision trees (LightGBM)")}[spec.learner]
    groups = (t("één model voor vo en één voor mbo (vavo bij mbo)", "one model for vo and one for mbo (vavo with mbo)")
              if spec.sectors == "separate" else t("één gezamenlijk model", "one pooled model"))
    features = "; ".join(f"{group}: {', '.join(g.variable(n) for n in names)}" for group, names in spec.features.items())
    fairness, fairness_source = _fairness(_audit_table(run_id, audit), lang)
    source = tags.get("data_source", "unknown")
    source = {"synthetic": t("synthetisch", "synthetic"), "file": t("bestand", "file")}.get(source, source)
    train = g.school_year(spec.data.train_year)
    fields = {
        "name": _field(t("Naam", "Name"), t(f"Regionale behoefte voor het budget tegen voortijdig schoolverlaten (model {spec.name})",
                                           f"Regional need for the early-school-leaving budget (model {spec.name})"), _DRAFT),
        "organization": _field(t("Verantwoordelijke organisatie", "Responsible organisation"),
                               todo("de officiële naam van de verantwoordelijke organisatie",
                                    "the official name of the organisation responsible"), _PERSON),
        "department": _field(t("Afdeling", "Department"), todo("de afdeling of het team dat het algoritme gebruikt",
                                                               "the department or team that uses the algorithm"), _PERSON),
        "contact_email": _field(t("Contact (e-mail)", "Contact e-mail"), todo(
            "waar burgers en journalisten vragen kunnen stellen", "where citizens and journalists can ask questions"), _PERSON),
        "status": _field(t("Status", "Status"), todo("gepland, ontwerp, ontwikkeling, pilot, evaluatie, in gebruik of buiten gebruik",
                                                     "planned, design, development, pilot, evaluation, operational or retired"), _PERSON),
        "description_short": _field(t("Korte beschrijving", "Short description"), t(
            "Voorspelt per leerling de kans op school verlaten zonder startkwalificatie; de som per regio verdeelt het vsv-budget.",
            "Predicts each pupil's chance of leaving school without a basic qualification; each region's summed "
            "chances split the vsv budget."), _DRAFT),
        "domain": _field(t("Domein", "Domain"), t("onderwijs en wetenschap", "education and science"), _DRAFT),
        "area": _field(t("Gebied", "Geographical area"), t("Nederland: de 40 RMC-/Doorstroompuntregio’s.",
                                                           "The Netherlands: the 40 RMC / Doorstroompunt regions."), _DRAFT),
        "decision_making_process": _field(t("Besluitvormingsproces", "Decision-making process"), t(
            "De jaarlijkse verdeling van het budget voor het regionale programma tegen voortijdig schoolverlaten over "
            "de 40 regio’s (Regeling regionaal programma en Doorstroompuntfunctie 2026-2029). De voorspelde kansen van "
            "het model worden per regio opgeteld tot de behoefte; het budget volgt de behoefte onder regels die in de "
            "verdeelconfiguratie staan (basisbedrag, minimumbedrag, demping tegen vorig jaar), met intervallen op "
            "elk aandeel.",
            "The yearly split of the budget for the regional programme against early school leaving over the 40 "
            "regions (Regeling regionaal programma en Doorstroompuntfunctie 2026-2029). The model's predicted "
            "chances are summed per region into need; the budget follows need under rules written down in the "
            "allocation config (base amount, floor, dampening against last year), with intervals on every share.")
            + "\n" + todo("wie over de bedragen beslist, en hoe de uitkomst wordt vastgesteld",
                           "who decides on the amounts, and how the outcome is adopted"), _DRAFT),
        "goal": _field(t("Doel", "Goal"), t(
            "Het programma van elke regio tegen voortijdig schoolverlaten financieren naar haar behoefte: het "
            "verwachte aantal leerlingen dat zonder startkwalificatie van school gaat. Voorspelde in plaats van "
            "waargenomen uitval wordt bewust gebruikt, zodat een regio die haar uitval terugdringt geen geld verliest.",
            "Fund every region's programme against early school leaving in proportion to its need: the expected "
            "number of pupils who leave school without a startkwalificatie. Predicted rather than observed "
            "dropout is used on purpose, so that a region that brings its dropout down does not lose money.")
            + "\n" + todo("de beleidsdoelen die dit dient, in de woorden van de organisatie",
                           "the policy goals this serves, in the organisation's words"), _DRAFT),
        "impact": _field(t("Impact", "Impact"), t(
            "Er wordt niets over een persoon besloten: leerlingen worden alleen geteld, opgeteld per regio. De uitkomst "
            "is het bedrag dat elke regio krijgt; een model dat het risico van een groep onderschat, verschuift geld "
            "weg van de regio’s waar die groep woont (zie de eerlijkheidsbevindingen).",
            "No decision is made about a person: pupils are only counted, in aggregate, per region. The outcome "
            "is the amount each region receives; a model that underestimates the risk of a group moves money "
            "away from the regions where that group lives (see the fairness findings).")
            + "\n" + todo("de verwachte gevolgen voor regio’s, scholen en leerlingen",
                           "the expected consequences for regions, schools and pupils"), _DRAFT),
        "risks": _field(t("Risico’s en maatregelen", "Risks and mitigation"), t(
            "Slechte kalibratie voor een groep of onderwijssoort verschuift geld: de kalibratie wordt per "
            "onderwijssoort en regio gerapporteerd en per groep geaudit. Migratieachtergrond is nooit een voorspeller "
            "(gecontroleerd bij het schatten) en wordt alleen in de audit gebruikt. Cohorten verschuiven: een "
            "waarschuwing als de stabiliteitsindex van een kenmerk boven 0,2 komt. Toeval: intervallen op elk aandeel, "
            "en een dempingsband. Privacy: alleen totalen verlaten de data-omgeving, cellen onder 10 personen onderdrukt.",
            "Miscalibration for a group or sector moves money: calibration is reported per sector and region "
            "and audited per group. Migration background is never a predictor (checked at fit time) and used "
            "only in the audit. Cohorts drift: a warning when a characteristic's population stability index "
            "exceeds 0.2. Chance variation: intervals on every share, and a dampening band. Privacy: only "
            "aggregates leave the data environment, cells under 10 persons suppressed.")
            + "\n" + _registrations(_allocation_manifest(run_id, allocation), lang)
            + "\n" + todo("de gebruikte risicoafweging (bijvoorbeeld een IAMA) en haar conclusies",
                           "the risk assessment used (for example an IAMA) and its conclusions"), _DRAFT),
        "risk_category": _field(t("Risicocategorie", "Risk category"), todo(
            "minimaal, beperkt, hoog of onaanvaardbaar risico", "minimal, limited, high or unacceptable risk"), _PERSON),
        "proportionality": _field(t("Proportionaliteit", "Proportionality"), todo(
            "waarom het gebruik nodig is en waarom de baten opwegen tegen de mogelijke schade",
            "why the use is necessary and why its benefits outweigh its possible harm"), _PERSON),
        "lawful_basis": _field(t("Wettelijke grondslag", "Lawful basis"), (
            "Wet van school naar duurzaam werk " + t("(het regionale programma en de Doorstroompuntregio’s); ",
                                                     "(the regional programme and the Doorstroompunt regions); ")
            + "Regeling regionaal programma en Doorstroompuntfunctie 2026-2029 " + t("(de bedragen).", "(the amounts).")
            + "\n" + todo("de artikelen, en het formele besluit dat het gebruik van dit model goedkeurt",
                           "the articles, and the formal decision that approves the use of this model")), _DRAFT),
        "training_data": _field(t("Trainingsgegevens", "Training data"), (
            t("Bron: ", "Source: ") + source + (f" ({tags['data_path']})" if tags.get("data_path") else "")
            + f", SHA-256 {tags.get('data_sha256', '?')}. "
            + t(f"Geschat op schooljaar {train} ({g.number(metrics.get('n_train', 0))} leerlingen). Kenmerken per "
                f"model: {features}. Nooit als kenmerk gebruikt: ",
                f"Fitted on school year {train} ({g.number(metrics.get('n_train', 0))} persons). Features per model: "
                f"{features}. Never used as a feature: ")
            + ", ".join(g.variable(n) for n in spec.excluded_features) + "."), _RUN),
        "source_data": _field(t("Brongegevens", "Source data"), t(
            "Eén rij per leerling per schooljaar: leerlingen onder de leeftijdsgrens in bekostigd vo, mbo en vavo "
            "zonder startkwalificatie, met achtergrondkenmerken uit microdata van het CBS (Remote Access).",
            "One row per pupil per school year: pupils under the upper age in publicly funded vo, mbo and vavo "
            "without a startkwalificatie, with background characteristics from CBS microdata (Remote Access).")
            + "\n" + todo("de gekoppelde registers en de afspraken waaronder ze worden gebruikt",
                           "the registers linked and the agreements under which they are used"), _DRAFT),
        "algorithm_type": _field(t("Soort algoritme", "Type of algorithm"), t("zelflerend", "self-learning"), _RUN),
        "methods_and_models": _field(t("Methoden en modellen", "Methods and models"), (
            f"{learner}; {groups}; " + t(f"herkalibratie: {spec.calibration}; seed {spec.seed}. Behoefte per regio: de "
                                         "som van de voorspelde kansen (scenario alle) of van die in de landelijke top "
                                         "40% (scenario 4).",
                                         f"recalibration: {spec.calibration}; seed {spec.seed}. Need per region: the "
                                         "sum of predicted chances (scenario all) or of those in the national top 40% "
                                         "(scenario 4).")), _RUN),
        "performance": _field(t("Prestaties", "Performance"), _performance(metrics, spec, lang), _RUN),
        "type": _field(t("Soort gebruik", "Type of use"), t("voorspellend", "predictive"), _RUN),
        "monitoring": _field(t("Monitoring", "Performance monitoring"), t(
            "Voor elk nieuw cohort: toetsing buiten de tijd, de eerlijkheidsaudit en driftcontroles "
            "(stabiliteitsindex per kenmerk, verandering van de kalibratie).",
            "For every new cohort: out-of-time evaluation, the fairness audit and drift checks (population "
            "stability index per characteristic, change in calibration-in-the-large).")
            + "\n" + todo("hoe vaak, door wie, en wat er gebeurt als een controle faalt",
                           "how often, by whom, and what happens when a check fails"), _DRAFT),
        "human_intervention": _field(t("Menselijke tussenkomst", "Human intervention"), t(
            "Het model telt alleen; mensen stellen de regels en het budget vast in de verdeelconfiguratie, en elke "
            "verdeling heeft een manifest waarmee ze kan worden nagerekend.",
            "The model only counts; people set the rules and the budget in the allocation config, and every "
            "allocation comes with a manifest from which it can be recomputed.")
            + "\n" + todo("wie de uitkomst beoordeelt voordat die wordt vastgesteld en wie haar mag wijzigen",
                           "who reviews the outcome before it is adopted and who may change it"), _DRAFT),
        "objection_procedure": _field(t("Bezwaarprocedure", "Objection procedure"), todo(
            "hoe een regio of burger bezwaar kan maken", "how a region or citizen can object"), _PERSON),
        "fairness_findings": _field(t("Eerlijkheidsbevindingen (uitbreiding)", "Fairness findings (extension)"),
                                    fairness, fairness_source),
    }
    return {"standard": dict(STANDARD), "generated_by": f"vsvrisk {__version__}", "run_id": run_id, "lang": lang,
            "to_be_filled_in": marker, "fields": fields,
            "to_be_filled": [key for key, field in fields.items() if marker in field["value"]]}
