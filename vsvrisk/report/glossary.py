"""Every label a person reads, in Dutch and English, and one colour per concept.

Pages, the workbook and the terminal take their words from here, never from a column name: one
rule, one variable or one region has one name everywhere (DESIGN section 11). Dutch is the
default (the ministry's language); English on request (``--lang en``). Numbers follow the
language too: ``€ 7.102.495`` and ``5,0%`` in Dutch, ``€ 7,102,495`` and ``5.0%`` in English.

The machine names (CSV columns, config keys) stay as they are; :data:`COLUMNS` says what each
means, and :mod:`vsvrisk.report.dictionary` turns that into the data dictionary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vsvrisk.exceptions import ConfigError

__all__ = ["COLOURS", "COLUMNS", "LANGUAGES", "LEVELS", "MANIFEST_KEYS", "POLICY", "REGISTRARS", "RULES", "VARIABLES",
           "Glossary", "check_language", "glossary"]

#: The languages of the reports; the first is the default.
LANGUAGES = ("nl", "en")

#: One colour per concept, on every page and chart. "more" is more money or more need than
#: the reference (last year, the nation, the baseline), "less" is less: blue and orange, which
#: readers with a red-green colour deficiency tell apart.
COLOURS = {
    "more": "#2166ac",
    "less": "#b35806",
    "neutral": "#7a7a7a",
    "bar": "#4a6fa5",
    "band": "#e9edf4",
    "flag": "#b35806",
    "ok": "#4a6fa5",
}

#: The variables of the models and the audit (features, their derived forms, the vo/mbo mix).
VARIABLES = {
    "age": ("leeftijd", "age"),
    "age_group": ("leeftijdsgroep", "age group"),
    "sector": ("onderwijssoort (vo, mbo, vavo)", "sector (vo, mbo, vavo)"),
    "vo_type": ("schooltype in het vo", "school type (vo)"),
    "mbo_level": ("mbo-niveau", "mbo level"),
    "mbo_pathway": ("leerweg in het mbo (bol of bbl)", "mbo pathway (bol or bbl)"),
    "mbo_field": ("studierichting in het mbo", "mbo field of study"),
    "gender": ("geslacht", "gender"),
    "delay_years": ("opgelopen vertraging", "accumulated delay"),
    "psychosocial": ("psychosociale problemen", "psychosocial problems"),
    "crime_suspect": ("verdachte van een misdrijf", "registered crime suspect"),
    "problem_debts": ("problematische schulden in het gezin", "problem debts in the household"),
    "benefits_household": ("bijstand in het gezin", "social assistance in the household"),
    "parent_crime_suspect": ("ouder verdachte van een misdrijf", "parent registered as crime suspect"),
    "parent_mental_health": ("ouder in de ggz", "parent in mental health care"),
    "wealth_percentile": ("vermogen van het gezin", "household wealth"),
    "wealth_group": ("vermogensgroep van het gezin", "household wealth group"),
    "parents": ("ouders in het gezin", "parents in the household"),
    "mother_education": ("opleiding van de moeder", "mother's education"),
    "urbanisation": ("stedelijkheid van de buurt", "urbanisation of the neighbourhood"),
    "multiproblematiek": ("multiproblematiek", "multiproblematiek"),
    "problem_count": ("aantal problemen", "number of problems"),
    "migration_background": ("migratieachtergrond", "migration background"),
    "model_group_mix": ("verhouding vo/mbo", "mix of vo and mbo pupils"),
    "other": ("overige", "other"),
}

#: The levels of the audit's characteristics (and of a few variables), per variable.
LEVELS = {
    "gender": {"m": ("man", "male"), "v": ("vrouw", "female")},
    "migration_background": {"none": ("geen", "none"), "western": ("westers", "western"),
                             "non_western": ("niet-westers", "non-western")},
    "urbanisation": {"1": ("zeer sterk stedelijk", "very strongly urban"), "2": ("sterk stedelijk", "strongly urban"),
                     "3": ("matig stedelijk", "moderately urban"), "4": ("weinig stedelijk", "hardly urban"),
                     "5": ("niet stedelijk", "not urban")},
    "wealth_group": {"q1": ("laagste 20%", "lowest 20%"), "q2": ("20-40%", "20-40%"), "q3": ("40-60%", "40-60%"),
                     "q4": ("60-80%", "60-80%"), "q5": ("hoogste 20%", "highest 20%"),
                     "missing": ("onbekend", "unknown")},
    "sector": {"all": ("alle onderwijssoorten", "all sectors"), "vo": ("vo", "vo"), "mbo": ("mbo", "mbo"),
               "vavo": ("vavo", "vavo")},
}

#: The rule that holds an amount (``binding`` in allocation.csv).
RULES = {
    "none": ("behoefte", "need"),
    "floor": ("minimumbedrag", "minimum amount"),
    "lower_band": ("grootste daling", "largest fall allowed"),
    "upper_band": ("grootste stijging", "largest rise allowed"),
}

#: Every column a person may see, with what it means: (label nl, label en, meaning nl, meaning en).
COLUMNS = {
    "region_code": ("Code", "Code", "Regiocode (DUO-nummering, 1 tot en met 40).",
                    "Region code (DUO numbering, 1 to 40)."),
    "region_name": ("Regio", "Region", "Naam van de RMC-/Doorstroompuntregio.",
                    "Name of the RMC / Doorstroompunt region."),
    "n_persons": ("Leerlingen", "Pupils", "Aantal leerlingen zonder startkwalificatie in de regio (het gescoorde cohort).",
                  "Number of pupils without a basic qualification in the region (the scored cohort)."),
    "need": ("Behoefte", "Need", "Verwacht aantal voortijdig schoolverlaters: de som van de voorspelde kansen "
             "(onder het scenario).", "Expected number of early school leavers: the sum of the predicted "
             "chances (under the scenario)."),
    "share": ("Aandeel behoefte", "Need share", "Aandeel van de regio in de landelijke behoefte (0-1).",
              "The region's part of the national need (0-1)."),
    "population_share": ("Aandeel leerlingen", "Pupil share", "Aandeel van de regio in alle leerlingen (0-1).",
                         "The region's part of all pupils (0-1)."),
    "amount_eur": ("Bedrag", "Amount", "Toegekend bedrag in hele euro's; de bedragen tellen op tot het budget.",
                   "Amount allocated in whole euros; the amounts add up to the budget."),
    "amount_share": ("Aandeel budget", "Budget share", "Bedrag gedeeld door het budget (0-1).",
                     "Amount divided by the budget (0-1)."),
    "previous_eur": ("Vorig jaar", "Last year", "Bedrag van vorig jaar in euro's (uit het vorige allocation.csv).",
                     "Last year's amount in euros (from the previous allocation.csv)."),
    "change_eur": ("Verandering", "Change", "Bedrag min bedrag vorig jaar, in euro's.",
                   "Amount minus last year's amount, in euros."),
    "change_pct": ("Verandering %", "Change %", "Verandering in procenten van het bedrag van vorig jaar.",
                   "Change as a percentage of last year's amount."),
    "lower_eur": ("Ondergrens", "Lower limit", "Laagste toegestane bedrag: het minimumbedrag of de grootste "
                  "daling tegen vorig jaar, wat hoger is.", "Lowest amount allowed: the minimum amount or the "
                  "largest fall against last year, whichever is higher."),
    "upper_eur": ("Bovengrens", "Upper limit", "Hoogste toegestane bedrag (grootste stijging tegen vorig jaar); "
                  "leeg zonder vorig jaar.", "Highest amount allowed (largest rise against last year); empty "
                  "without a previous year."),
    "binding": ("Vastgehouden door", "Held by", "De regel die het bedrag vasthoudt: behoefte (geen), minimumbedrag, "
                "grootste daling of grootste stijging.", "The rule that holds the amount: need (none), minimum "
                "amount, largest fall or largest rise allowed."),
    "amount_unrounded_eur": ("Bedrag onafgerond", "Amount unrounded", "Het bedrag voor afronding op hele euro's.",
                             "The amount before rounding to whole euros."),
    "share_low": ("Aandeel behoefte, laag", "Need share, low", "Ondergrens van het interval op het aandeel behoefte.",
                  "Lower end of the interval on the need share."),
    "share_high": ("Aandeel behoefte, hoog", "Need share, high", "Bovengrens van het interval op het aandeel "
                   "behoefte.", "Upper end of the interval on the need share."),
    "amount_low": ("Bedrag, laag", "Amount, low", "Ondergrens van het interval op het bedrag (euro's).",
                   "Lower end of the interval on the amount (euros)."),
    "amount_high": ("Bedrag, hoog", "Amount, high", "Bovengrens van het interval op het bedrag (euro's).",
                    "Upper end of the interval on the amount (euros)."),
    "p_change_above": ("Kans op grote verandering", "Chance of a large change", "Kans dat het bedrag meer dan de "
                       "drempel uit de configuratie stijgt of daalt tegen vorig jaar.", "Chance that the amount "
                       "rises or falls by more than the config's threshold against last year."),
    "p_decrease_above": ("Kans op grote daling", "Chance of a large fall", "Kans dat het bedrag meer dan de drempel "
                         "daalt tegen vorig jaar.", "Chance that the amount falls by more than the threshold "
                         "against last year."),
    "suppressed": ("Onderdrukt", "Suppressed", "Waar: de rij rust op minder leerlingen dan de onthullingsdrempel en "
                   "is leeg gelaten.", "True: the row rests on fewer pupils than the disclosure threshold and is "
                   "left empty."),
    "alternative": ("Alternatief", "Alternative", "De gewijzigde modelkeuze (baseline: het model dat verdeelt).",
                    "The modelling choice changed (baseline: the model that allocates)."),
    "delta_share_pp": ("Verschil aandeel (procentpunt)", "Change in share (percentage points)",
                       "Aandeel behoefte min dat van de baseline, in procentpunten.",
                       "Need share minus the baseline's, in percentage points."),
    "delta_eur": ("Verschil bedrag", "Change in amount", "Bedrag min dat van de baseline, in euro's.",
                  "Amount minus the baseline's, in euros."),
}
#: The words of the manifest's keys, for the workbook's manifest sheet (a key path reads "inputs › previous
#: year › file"); a key without a word reads as itself with spaces.
MANIFEST_KEYS = {
    "manifest_version": ("manifestversie", "manifest version"), "vsvrisk_version": ("vsvrisk-versie", "vsvrisk version"),
    "versions": ("versies", "versions"), "created_utc": ("gemaakt (UTC)", "created (UTC)"),
    "model_run_id": ("modelrun", "model run"), "seed": ("seed", "seed"), "inputs": ("invoer", "inputs"),
    "path": ("bestand", "file"), "sha256": ("sha256", "sha256"), "size_bytes": ("grootte (bytes)", "size (bytes)"),
    "config": ("configuratie", "config"), "extra": ("extra", "extra"), "disclosure": ("onthullingsbeheersing", "disclosure control"),
    "story": ("verhaal", "story"), "budget_eur": ("budget", "budget"), "base_amount_eur": ("basisbedrag", "base amount"),
    "floor_eur": ("minimumbedrag", "minimum amount"), "max_change": ("demping", "dampening"),
    "previous": ("vorig jaar", "previous year"), "need": ("behoefte", "need"), "data": ("cohort", "cohort"),
    "scenario": ("scenario", "scenario"), "top_share": ("topaandeel", "top share"),
    "disclosure_threshold": ("onthullingsdrempel", "disclosure threshold"), "n_bootstrap": ("trekkingen", "replicates"),
    "interval_level": ("zekerheid intervallen", "interval coverage"),
    "change_threshold_pct": ("drempel grote verandering (%)", "large-change threshold (%)"),
    "n_model_refits": ("hergeschatte modellen", "model refits"), "need_source": ("bron van de behoefte", "source of need"),
    "scenario_applied": ("scenario toegepast", "scenario applied"), "scenario_note": ("toelichting scenario", "scenario note"),
    "dampening": ("demping toegepast", "dampening applied"), "intervals": ("intervallen", "intervals"),
    "sampling_replicates": ("trekkingen", "replicates"), "model_refits": ("hergeschatte modellen", "model refits"),
    "level": ("zekerheid", "coverage"), "lambda": ("lambda (euro per eenheid behoefte)", "lambda (euro per unit of need)"),
    "drift_warnings": ("driftwaarschuwingen", "drift warnings"), "threshold": ("drempel", "threshold"),
    "count_column": ("telkolom", "count column"), "suppressed_rows": ("onderdrukte rijen", "suppressed rows"),
    "allocation": ("verdeling", "allocation"), "drivers": ("verklaring", "drivers"), "model": ("model", "model"),
    "cohort": ("cohort", "cohort"), "rules": ("regels", "rules"), "run_id": ("run", "run"), "name": ("naam", "name"),
    "learner": ("leermethode", "learner"), "school_year": ("schooljaar", "school year"),
    "n_persons": ("leerlingen", "pupils"), "source": ("bron", "source"), "need_table": ("behoeftetabel", "need table"),
    "need_table_sha256": ("behoeftetabel sha256", "need table sha256"),
    "previous_sha256": ("vorig jaar sha256", "previous year sha256"),
    "registration_watch": ("risico om in de gaten te houden", "risk to watch"), "national": ("landelijk", "national"),
    "regions": ("regio’s", "regions"), "registration": ("registratie", "registration"),
    "eur_per_person": ("euro per extra geregistreerde", "euro per additional registered pupil"),
    "eur_per_pp": ("euro per procentpunt", "euro per percentage point"),
    "n_unregistered": ("leerlingen nog niet geregistreerd", "pupils not yet registered"),
    "region_code": ("regiocode", "region code"), "region_name": ("regio", "region"),
    "note_top_share": ("topaandeel: grens vast", "top share: cut-off fixed"),
}
#: Who registers each registration among the predictors (the problem flags): a region whose
#: bodies register more gets more money (the policy pages and the risk to watch). The
#: registration itself is named by :data:`VARIABLES`.
REGISTRARS = {
    "psychosocial": ("jeugdzorg of jeugd-ggz", "youth care or youth mental health care"),
    "crime_suspect": ("politie", "police"),
    "problem_debts": ("schuldhulpverlening", "debt counselling"),
    "benefits_household": ("gemeentelijke sociale dienst", "municipal social services"),
    "parent_crime_suspect": ("politie", "police"),
    "parent_mental_health": ("ggz-aanbieders", "mental health care providers"),
}
#: The labels of the policy pages (``vsvrisk policy prevention|registration|path``).
POLICY = {
    "vsv_expected": ("Verwachte vsv'ers (voor → na)", "Expected vsv'ers (before → after)"),
    "vsv_observed": ("Waargenomen vsv'ers (voor → na)", "Observed vsv'ers (before → after)"),
    "amount_before": ("Bedrag zonder preventie", "Amount without prevention"),
    "loss": ("Verlies", "Loss"), "loss_range": ("Verlies (kleinste–grootste)", "Loss (smallest–largest)"),
    "loss_pct": ("Verlies in % van het bedrag", "Loss as % of the amount"),
    "noise": ("Ruis: spreiding van het bedrag zonder preventie", "Noise: spread of the amount without prevention"),
    "winner": ("Grootste winnaar", "Largest gain"), "registration": ("Registratie", "Registration"),
    "who": ("Wie registreert", "Who registers"), "changed": ("Extra geregistreerd", "Newly registered"),
    "eur_fixed": ("€ model vast", "€ model fixed"), "eur_rebalanced": ("€ na herverdeling", "€ after rebalancing"),
    "per_person_fixed": ("€ per extra geregistreerde (model vast)", "€ per newly registered pupil (model fixed)"),
    "per_person_rebalanced": ("€ per extra geregistreerde (na herverdeling)",
                              "€ per newly registered pupil (after rebalancing)"),
    "per_person_refit": ("€ per extra geregistreerde (na herschatting)", "€ per newly registered pupil (after a refit)"),
    "per_pp": ("€ per procentpunt (model vast)", "€ per percentage point (model fixed)"),
    "band": ("Dempingsband", "Dampening band"), "all_reached": ("Alle regio’s bereikt in", "All regions reached in"),
    "years": ("Jaren", "Years"), "not_reached": ("Regio’s niet bereikt", "Regions not reached"),
    "largest_change": ("Grootste jaarlijkse verandering", "Largest yearly change"),
    "reached": ("Bereikt in", "Reached in"), "target": ("Bedrag op basis van behoefte", "Need-based amount"),
    "not_yet": ("niet t/m", "not by"), "facts": ("Hoe dit is gemaakt", "How this was made"),
    "risk_to_watch": ("Risico om in de gaten te houden", "Risk to watch"),
}
#: The intervals from model refits carry the prefix ``model_`` (same meaning, model uncertainty).
MODEL_PREFIX = "model_"


def check_language(lang: str) -> str:
    """The language code, checked: ``nl`` or ``en``.

    Examples
    --------
    >>> check_language("en")
    'en'
    """
    if lang not in LANGUAGES:
        raise ConfigError(f"--lang must be one of {', '.join(LANGUAGES)}, got '{lang}': e.g. --lang en")
    return lang


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):  # pd.NA refuses bool()
        return True


@dataclass(frozen=True)
class Glossary:
    """The words and number formats of one language.

    Examples
    --------
    >>> nl, en = Glossary("nl"), Glossary("en")
    >>> nl.euro(7102495), en.euro(7102495)
    ('€\\xa07.102.495', '€\\xa07,102,495')
    >>> nl.percent(0.05), en.percent(-0.0394, signed=True)
    ('5,0%', '−3.9%')
    >>> nl.column("binding"), en.rule("lower_band"), nl.variable("model_group_mix")
    ('Vastgehouden door', 'largest fall allowed', 'verhouding vo/mbo')
    """

    lang: str = "nl"

    def __post_init__(self) -> None:
        check_language(self.lang)

    @property
    def index(self) -> int:
        return LANGUAGES.index(self.lang)

    def pick(self, nl: str, en: str) -> str:
        """The text in this language: pages keep their sentences beside their code this way."""
        return nl if self.lang == "nl" else en

    def column(self, name: str) -> str:
        """The label of a column (``model_`` intervals: the same label, "(model)" added)."""
        if name.startswith(MODEL_PREFIX) and name[len(MODEL_PREFIX):] in COLUMNS:
            return f"{COLUMNS[name[len(MODEL_PREFIX):]][self.index]} ({self.pick('model', 'model')})"
        return COLUMNS[name][self.index] if name in COLUMNS else _humane(name)

    def meaning(self, name: str) -> str:
        """What a column means, one sentence."""
        if name.startswith(MODEL_PREFIX) and name[len(MODEL_PREFIX):] in COLUMNS:
            return COLUMNS[name[len(MODEL_PREFIX):]][2 + self.index] + self.pick(
                " Uit hergeschatte modellen (modelonzekerheid).", " From model refits (model uncertainty).")
        return COLUMNS[name][2 + self.index] if name in COLUMNS else ""

    def variable(self, name: str) -> str:
        """The label of a model variable or audit characteristic."""
        return VARIABLES[name][self.index] if name in VARIABLES else _humane(name)

    def level(self, variable: str, level: Any) -> str:
        """The label of one level of a variable (``urbanisation`` 1 -> "zeer sterk stedelijk")."""
        levels = LEVELS.get(variable, {})
        key = str(level)
        return levels[key][self.index] if key in levels else _humane(key)

    def label(self, key: str) -> str:
        """A label of the policy pages (:data:`POLICY`)."""
        return POLICY[key][self.index]

    def registrar(self, name: str) -> str:
        """Who registers a registration (``crime_suspect`` -> "politie")."""
        return REGISTRARS[name][self.index] if name in REGISTRARS else _humane(name)

    def rule(self, name: str) -> str:
        """The rule that holds an amount (``binding``)."""
        return RULES[name][self.index] if name in RULES else _humane(name)

    def number(self, value: Any, digits: int = 0, signed: bool = False) -> str:
        """A number in this language's notation; "–" when missing."""
        if _missing(value):
            return "–"
        text = f"{abs(value):,.{digits}f}"
        if self.lang == "nl":
            text = text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
        # A value that rounds to zero has no sign: "0" not "−0".
        rounded = round(float(value), digits)
        sign = "−" if rounded < 0 else ("+" if signed and rounded > 0 else "")
        return sign + text

    def euro(self, value: Any, signed: bool = False) -> str:
        """Euros, whole: ``€ 7.102.495``; with ``signed`` a leading + or −."""
        if _missing(value):
            return "–"
        text = self.number(value, 0, signed)
        sign = text[0] if text[0] in "+−" else ""
        return f"{sign}€\u00a0{text[len(sign):]}"

    def percent(self, fraction: Any, digits: int = 1, signed: bool = False) -> str:
        """A fraction as a percentage: 0.05 -> ``5,0%``."""
        return "–" if _missing(fraction) else self.number(100 * fraction, digits, signed) + "%"

    def millions(self, value: Any) -> str:
        """Euros in millions, one decimal: ``€ 7,1 mln``."""
        if _missing(value):
            return "–"
        return f"€\u00a0{self.number(value / 1e6, 1)}\u00a0{self.pick('mln', 'M')}"

    def school_year(self, year: Any) -> str:
        """A school year t as ``2019/20``."""
        return "–" if _missing(year) else f"{int(year)}/{(int(year) + 1) % 100:02d}"


def _humane(name: str) -> str:
    # A code without a label (a new feature, a level from another data source) still reads as
    # words rather than as a code name; a test makes sure the shipped names all have labels.
    return str(name).replace("_", " ")


def glossary(lang: str = "nl") -> Glossary:
    """The :class:`Glossary` of a language (``nl`` or ``en``).

    Examples
    --------
    >>> glossary("en").column("amount_eur")
    'Amount'
    """
    return Glossary(check_language(lang))
