"""The code book of the person-year table (DESIGN section 4): columns, codes and groupings.

One place for every code list, so that the schema, the synthetic generator and the feature
transformers agree by construction.
"""

from __future__ import annotations

from types import MappingProxyType

#: Reference date of a school year t: 1 October of year t (month, day).
REFERENCE_MONTH_DAY = (10, 1)

#: Default upper age of the population (exclusive): under 23. The 2026 law widens it to 27.
DEFAULT_UPPER_AGE = 23
LOWER_AGE = 10

SECTORS = ("vo", "mbo", "vavo")
VO_TYPES = ("pro", "vmbo_bb", "vmbo_kb", "vmbo_gt", "havo", "vwo", "vso")
MBO_LEVELS = (1, 2, 3, 4)
MBO_PATHWAYS = ("bol", "bbl")
MBO_FIELDS = ("techniek", "economie", "zorg_welzijn", "groen", "combinatie")
GENDERS = ("m", "v")
PARENTS = ("both", "one", "none")
MOTHER_EDUCATION = ("low", "mid", "high", "unknown")
URBANISATION = (1, 2, 3, 4, 5)
MIGRATION_BACKGROUNDS = ("none", "western", "non_western")

#: The six problem flags of section 4; two or more of them is multiproblematiek.
PROBLEM_FLAGS = (
    "psychosocial",
    "crime_suspect",
    "problem_debts",
    "benefits_household",
    "parent_crime_suspect",
    "parent_mental_health",
)
MULTIPROBLEM_THRESHOLD = 2

#: Household wealth in five percentile groups: [0, 20), [20, 40), ..., [80, 100].
WEALTH_GROUP_EDGES = (0, 20, 40, 60, 80, 100)
#: The label of a missing percentile, the last category of every wealth group column.
WEALTH_MISSING = "missing"
WEALTH_GROUPS = ("q1", "q2", "q3", "q4", "q5", WEALTH_MISSING)

#: The codes of the 40 RMC / Doorstroompunt regions (their names: :mod:`vsvrisk.data.regions`).
REGION_CODES = tuple(range(1, 41))

#: Categorical columns (category dtype in memory) and their codes.
CATEGORICAL_CODES = MappingProxyType(
    {
        "sector": SECTORS,
        "vo_type": VO_TYPES,
        "mbo_pathway": MBO_PATHWAYS,
        "mbo_field": MBO_FIELDS,
        "gender": GENDERS,
        "parents": PARENTS,
        "mother_education": MOTHER_EDUCATION,
        "migration_background": MIGRATION_BACKGROUNDS,
    }
)

#: Columns of the person-year table, in order, with their in-memory dtype.
#: ``category`` columns use the codes above; ``Int64`` is a nullable integer; ``boolean`` is a
#: nullable boolean (only the target may be missing).
COLUMNS = MappingProxyType(
    {
        "person_id": "string",
        "school_year": "int64",
        "birth_date": "datetime64[ns]",
        "region_code": "int64",
        "sector": "category",
        "vo_type": "category",
        "mbo_level": "Int64",
        "mbo_pathway": "category",
        "mbo_field": "category",
        "gender": "category",
        "delay_years": "int64",
        "psychosocial": "bool",
        "crime_suspect": "bool",
        "problem_debts": "bool",
        "benefits_household": "bool",
        "parent_crime_suspect": "bool",
        "parent_mental_health": "bool",
        "wealth_percentile": "Int64",
        "parents": "category",
        "mother_education": "category",
        "urbanisation": "int64",
        "migration_background": "category",
        "vsv": "boolean",
    }
)

#: Columns that may be absent from a file: the target (absent for a cohort being scored) and
#: the audit-only migration background.
OPTIONAL_COLUMNS = ("migration_background", "vsv")
REQUIRED_COLUMNS = tuple(name for name in COLUMNS if name not in OPTIONAL_COLUMNS)

#: Sector-specific columns: filled inside their sector, empty outside it.
SECTOR_COLUMNS = MappingProxyType(
    {
        "vo_type": ("vo",),
        "mbo_level": ("mbo",),
        "mbo_pathway": ("mbo",),
        "mbo_field": ("mbo",),
    }
)

#: CBS age groups per sector model (lower bounds; the first group is "<= next bound - 1" and
#: the last ">= its bound"). vo: <=14, 15, 16, 17, 18, >=19. mbo (vavo goes with mbo):
#: <=16, then single years up to the upper age of the population.
AGE_GROUP_BOUNDS = MappingProxyType({"vo": (15, 16, 17, 18, 19), "mbo": tuple(range(17, 27))})

#: Published vsv rates per school year t (t = 2018 means 2018/19), in percent of the population
#: under 23: the targets the synthetic world is calibrated to, with their source. Years in
#: between are interpolated (in log-odds); years before the first and after the last take the
#: nearest. Figures given for one year only are in :data:`CBS_FIGURES_2018`.
PUBLISHED_RATES = MappingProxyType({
    # 2018-2019: 26.894 new vsv'ers; vo 4.539, mbo 21.571 (Kamerbrief voortgang vsv, 2021).
    2018: MappingProxyType({"all": 2.01, "vo": 0.49, "mbo": 5.35}),
    # 2019-2020: 22.785 new vsv'ers; vo 3.607, mbo 18.512 (same letter).
    2019: MappingProxyType({"all": 1.72, "vo": 0.36, "mbo": 4.59}),
    # 2023-2024 -> 2024-2025: 29.163 -> 28.809 new vsv'ers, "ruim 2%" both years, the rate
    # unchanged (vo up, mbo down, by amounts the letter does not give): 2.1% for both; vo and
    # mbo are the 2018-2019 rates moved by the same shift in log-odds as the whole.
    2023: MappingProxyType({"all": 2.1}),
    2024: MappingProxyType({"all": 2.1}),
})
PUBLISHED_RATES_SOURCE = MappingProxyType({2018: "Kamerbrief 2021", 2019: "Kamerbrief 2021",
                                           2023: "Kamerbrief 2026", 2024: "Kamerbrief 2026"})

#: Figures CBS published for 2018/19 only (table 84782NED; a broader population than the
#: letters'), in percent. In other years they move with the year: mbo levels by the shift in
#: log-odds of the mbo rate, ages by that of the rate of all pupils.
CBS_FIGURES_2018 = MappingProxyType({
    "mbo_1": 29.0, "mbo_2": 12.0, "mbo_3": 4.0, "mbo_4": 4.0, "under_18": 0.4, "age_18_22": 6.1,
})
CBS_FIGURES_SOURCE = "CBS 84782NED 18/19"

#: The 2026 law widens the population from under 23 to under 27, and with it the count of new
#: vsv'ers: "door de ruimere definitie worden circa 28% meer jongeren meegeteld" (Kamerbrief
#: vsv 2026). The synthetic share of pupils aged 23-26 is calibrated to it.
WIDER_DEFINITION_RATIO = 1.28
WIDER_DEFINITION_SOURCE = "Kamerbrief 2026"

#: Which model group a sector belongs to (vavo is modelled with mbo unless a config says so).
MODEL_GROUP = MappingProxyType({"vo": "vo", "mbo": "mbo", "vavo": "mbo"})
#: The model groups in the order their age-group labels are listed.
MODEL_GROUPS = ("vo", "mbo")


def age_group_labels(model_group: str, upper_age: int = DEFAULT_UPPER_AGE) -> tuple[str, ...]:
    """Labels of the CBS age groups of a model group, for a population below ``upper_age``.

    Examples
    --------
    >>> age_group_labels("vo")
    ('<=14', '15', '16', '17', '18', '>=19')
    >>> age_group_labels("mbo")
    ('<=16', '17', '18', '19', '20', '21', '22')
    """
    bounds = [b for b in AGE_GROUP_BOUNDS[model_group] if b < upper_age]
    if model_group == "vo":
        return (f"<={bounds[0] - 1}", *(str(b) for b in bounds[:-1]), f">={bounds[-1]}")
    return (f"<={bounds[0] - 1}", *(str(b) for b in bounds))


def _label_order(label: str) -> tuple[int, int]:
    # "<=n" groups first, then single years, then ">=n": within each model group this is the
    # order of age, so each group's youngest label comes first among the labels it uses.
    if label.startswith("<="):
        return (0, int(label[2:]))
    if label.startswith(">="):
        return (2, int(label[2:]))
    return (1, int(label))


def age_group_categories(upper_age: int = DEFAULT_UPPER_AGE) -> tuple[str, ...]:
    """The categories of ``age_group``: the vo and mbo labels together, in one fixed order.

    vo and mbo use different CBS groups (vo ``<=14, 15, 16, 17, 18, >=19``; mbo and vavo
    ``<=16, 17, ..., upper_age - 1``), and one column holds both, so its categories are the
    union: the ``<=`` groups first, then the single years in ascending order, then ``>=19``.
    Within each model group that is the order of age, so the first level a vo-only or an
    mbo-only frame uses is its youngest group (the reference of a one-hot encoding).

    Parameters
    ----------
    upper_age : int, default=23
        The population is younger than this on the reference date.

    Returns
    -------
    categories : tuple of str

    Examples
    --------
    >>> age_group_categories()
    ('<=14', '<=16', '15', '16', '17', '18', '19', '20', '21', '22', '>=19')
    """
    labels = {label for group in MODEL_GROUPS for label in age_group_labels(group, upper_age)}
    return tuple(sorted(labels, key=_label_order))
