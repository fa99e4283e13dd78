"""Feature transformers and the feature pipeline, against hand-computed values.

Every expected value below was worked out by hand from the definitions (DESIGN section 3 and
the code book), not taken from the code's output.
"""

from __future__ import annotations

import doctest
import importlib
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from vsvrisk.config import load_config
from vsvrisk.data.codes import CATEGORICAL_CODES, COLUMNS
from vsvrisk.exceptions import ConfigError, SchemaError
from vsvrisk.features import (
    AgeAtReferenceDate,
    CategoryEncoder,
    FeatureSpec,
    Multiproblematiek,
    WealthGroup,
    age_group_categories,
    build_feature_pipeline,
)

DEFAULT_SPEC_FILE = Path(__file__).resolve().parents[1] / "configs" / "features.yaml"
FLAGS = (
    "psychosocial",
    "crime_suspect",
    "problem_debts",
    "benefits_household",
    "parent_crime_suspect",
    "parent_mental_health",
)
#: A vo pupil with no problems; each test row overrides what it is about.
BASE_ROW = {
    "school_year": 2018,
    "birth_date": "2004-06-15",
    "region_code": 1,
    "sector": "vo",
    "vo_type": "havo",
    "mbo_level": None,
    "mbo_pathway": None,
    "mbo_field": None,
    "gender": "m",
    "delay_years": 0,
    **{flag: False for flag in FLAGS},
    "wealth_percentile": 50,
    "parents": "both",
    "mother_education": "mid",
    "urbanisation": 3,
    "migration_background": "none",
    "vsv": False,
}
MBO = {
    "sector": "mbo",
    "vo_type": None,
    "mbo_level": 2,
    "mbo_pathway": "bol",
    "mbo_field": "techniek",
}
VAVO = {"sector": "vavo", "vo_type": None}


def person_years(*rows: dict, index=None) -> pd.DataFrame:
    """A person-year frame with the dtypes of the code book, one row per dict."""
    records = [{"person_id": f"p{i}", **BASE_ROW, **row} for i, row in enumerate(rows)]
    frame = pd.DataFrame.from_records(records, index=index)
    for column, dtype in COLUMNS.items():
        if dtype == "category":
            frame[column] = pd.Categorical(frame[column], categories=CATEGORICAL_CODES[column])
        elif dtype.startswith("datetime"):
            frame[column] = pd.to_datetime(frame[column]).astype(dtype)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    """Four pupils whose model-matrix rows are worked out by hand in the pipeline tests."""
    return person_years(
        # vo, born on a leap day: 14 on 1 Oct 2018 -> "<=14"; no problems; wealth 19 -> q1
        {"birth_date": "2004-02-29", "wealth_percentile": 19, "delay_years": 0},
        # mbo 2, born the day after the reference date: 16 -> "<=16"; two problems; 20 -> q2
        {**MBO, "birth_date": "2001-10-02", "parents": "one", "psychosocial": True,
         "problem_debts": True, "wealth_percentile": 20, "delay_years": 1},
        # mbo 4, 19th birthday on the reference date -> "19"; one problem; wealth missing
        {**MBO, "mbo_level": 4, "birth_date": "1999-10-01", "parents": "none",
         "crime_suspect": True, "wealth_percentile": None, "delay_years": 2},
        # vavo (mbo groups), 18 -> "18"; all six problems; wealth 100 -> q5
        {**VAVO, "birth_date": "2000-10-01", **{flag: True for flag in FLAGS},
         "wealth_percentile": 100, "delay_years": 3},
    )


# --- AgeAtReferenceDate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "school_year", "age"),
    [
        ("2002-10-01", 2018, 16),  # birthday on the reference date: already 16
        ("2002-10-02", 2018, 15),  # birthday one day later: still 15
        ("2002-09-30", 2018, 16),  # birthday the day before: 16
        ("2004-02-29", 2018, 14),  # leap-day birth, non-leap reference year
        ("2004-02-29", 2020, 16),  # leap-day birth, leap reference year
        ("2004-02-29", 2021, 17),  # turned 17 on 1 March 2021, before 1 October
        ("2004-12-31", 2018, 13),
    ],
    ids=[
        "born 1 Oct is 16 on 1 Oct",
        "born 2 Oct is still 15",
        "born 30 Sept is 16",
        "born 29 Feb is 14 in a non-leap year",
        "born 29 Feb is 16 in a leap year",
        "born 29 Feb is 17 the year after",
        "born 31 Dec is 13",
    ],
)
def test_age_in_completed_years_on_1_october(birth_date, school_year, age):
    frame = person_years({"birth_date": birth_date, "school_year": school_year})
    assert AgeAtReferenceDate().fit_transform(frame)["age"].tolist() == [age]


@pytest.mark.parametrize(
    ("sector", "birth_date", "group"),
    [
        ("vo", "2006-10-01", "<=14"),  # 12
        ("vo", "2004-10-01", "<=14"),  # 14
        ("vo", "2003-10-01", "15"),
        ("vo", "2000-10-01", "18"),
        ("vo", "1999-10-01", ">=19"),  # 19
        ("vo", "1996-10-02", ">=19"),  # 21
        ("mbo", "2003-10-01", "<=16"),  # 15
        ("mbo", "2002-10-01", "<=16"),  # 16
        ("mbo", "2001-10-01", "17"),
        ("mbo", "1999-10-01", "19"),
        ("mbo", "1996-10-02", "21"),  # 21: one day short of 22
        ("mbo", "1996-10-01", "22"),  # 22, the oldest group below 23
        ("vavo", "2002-10-01", "<=16"),
        ("vavo", "2001-10-01", "17"),
        ("vavo", "1996-10-01", "22"),
    ],
)
def test_age_group_boundaries_per_sector(sector, birth_date, group):
    extra = {"vo": {}, "mbo": MBO, "vavo": VAVO}[sector]
    frame = person_years({**extra, "birth_date": birth_date})
    assert AgeAtReferenceDate().fit_transform(frame)["age_group"].tolist() == [group]


def test_age_group_categories_are_the_union_in_a_fixed_order():
    expected = ("<=14", "<=16", "15", "16", "17", "18", "19", "20", "21", "22", ">=19")
    assert age_group_categories() == expected
    frame = person_years({}, {**MBO})
    out = AgeAtReferenceDate().fit_transform(frame)
    assert out["age_group"].dtype == pd.CategoricalDtype(list(expected))
    assert out["age"].dtype == np.int64


def test_upper_age_27_adds_mbo_groups_up_to_26():
    frame = person_years({**MBO, "birth_date": "1992-10-01"})  # 26 on 1 Oct 2018
    out = AgeAtReferenceDate(upper_age=27).fit_transform(frame)
    assert out["age_group"].tolist() == ["26"]
    assert list(out["age_group"].cat.categories)[-3:] == ["25", "26", ">=19"]


def test_a_reference_date_can_be_configured():
    frame = person_years({"birth_date": "2002-10-01"})
    out = AgeAtReferenceDate(reference_month=1, reference_day=1).fit_transform(frame)
    assert out["age"].tolist() == [15]  # 1 January 2018: not yet 16


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ({**MBO, "birth_date": "1995-10-01"}, "upper_age"),  # 23: outside the population
        ({"sector": None}, "sector"),
    ],
    ids=["a 23-year-old is outside the population", "a missing sector is refused"],
)
def test_age_refuses_rows_it_cannot_group(row, named):
    with pytest.raises(SchemaError, match=named):
        AgeAtReferenceDate().fit_transform(person_years(row))


def test_age_refuses_a_missing_or_text_birth_date():
    frame = person_years({}, {})
    frame.loc[1, "birth_date"] = pd.NaT
    with pytest.raises(SchemaError, match="'birth_date' has 1 missing"):
        AgeAtReferenceDate().fit_transform(frame)
    text = person_years({}).assign(birth_date=["2002-10-01"])
    with pytest.raises(SchemaError, match="'birth_date'.*not a date"):
        AgeAtReferenceDate().fit_transform(text)


def test_age_refuses_a_date_that_does_not_exist():
    with pytest.raises(ValueError, match="30/2 does not exist"):
        AgeAtReferenceDate(reference_month=2, reference_day=30).fit(person_years({}))


# --- Multiproblematiek -----------------------------------------------------------------------


def test_problem_count_and_multiproblematiek():
    frame = person_years(
        {flag: True for flag in FLAGS},  # every problem
        {"crime_suspect": True},  # exactly one
        {},  # none
        {"benefits_household": True, "parent_mental_health": True},  # exactly two
    )
    out = Multiproblematiek().fit_transform(frame)
    assert out["problem_count"].tolist() == [6, 1, 0, 2]
    assert out["multiproblematiek"].tolist() == [True, False, False, True]
    assert out["problem_count"].dtype == np.int64 and out["multiproblematiek"].dtype == bool


def test_custom_domains_and_threshold_on_0_1_columns():
    frame = pd.DataFrame({"debts": [1, 1, 0, 1], "benefits": [1, 0, 0, 1], "care": [1, 1, 0, 0]})
    out = Multiproblematiek(domains=["debts", "benefits", "care"], threshold=3).fit_transform(frame)
    assert out["problem_count"].tolist() == [3, 2, 0, 2]
    assert out["multiproblematiek"].tolist() == [True, False, False, False]


@pytest.mark.parametrize(
    ("frame", "params", "error", "named"),
    [
        (pd.DataFrame({"debts": [True]}), {"domains": ["debts", "care"]}, SchemaError, "'care'"),
        (pd.DataFrame({"debts": pd.array([True, None])}), {"domains": ["debts"], "threshold": 1},
         SchemaError, "'debts' has 1 missing"),
        (pd.DataFrame({"parents": pd.Categorical(["both"])}),
         {"domains": ["parents"], "threshold": 1}, SchemaError, "'parents'.*not a problem flag"),
        (pd.DataFrame({"debts": [True]}), {"domains": ["debts"], "threshold": 2}, ValueError,
         "threshold=2"),
        (pd.DataFrame({"debts": [True]}), {"domains": ["debts", "debts"]}, ValueError,
         "'debts' twice"),
    ],
    ids=[
        "an unknown domain column is named",
        "a missing flag is named",
        "a category column is no flag",
        "a threshold above the number of domains is refused",
        "a domain listed twice is refused",
    ],
)
def test_multiproblematiek_refuses_bad_domains(frame, params, error, named):
    with pytest.raises(error, match=named):
        Multiproblematiek(**params).fit(frame)


# --- WealthGroup ----------------------------------------------------------------------------


def test_wealth_groups_at_the_edges():
    percentiles = [0, 19, 20, 39, 40, 59, 60, 79, 80, 99, 100, None]
    frame = pd.DataFrame({"wealth_percentile": pd.array(percentiles, dtype="Int64")})
    out = WealthGroup().fit_transform(frame)
    assert out["wealth_group"].tolist() == [
        "q1", "q1", "q2", "q2", "q3", "q3", "q4", "q4", "q5", "q5", "q5", "missing",
    ]
    assert list(out["wealth_group"].cat.categories) == ["q1", "q2", "q3", "q4", "q5", "missing"]


def test_all_missing_wealth_is_all_missing_with_every_category():
    frame = pd.DataFrame({"wealth_percentile": pd.array([None, None, None], dtype="Int64")})
    out = WealthGroup().fit_transform(frame)
    assert out["wealth_group"].tolist() == ["missing"] * 3
    assert list(out["wealth_group"].cat.categories) == ["q1", "q2", "q3", "q4", "q5", "missing"]


def test_custom_edges_and_fractional_percentiles():
    frame = pd.DataFrame({"wealth_percentile": [0.0, 49.99, 50.0, 100.0, np.nan]})
    out = WealthGroup(edges=[0, 50, 100]).fit_transform(frame)
    assert out["wealth_group"].tolist() == ["q1", "q1", "q2", "q2", "missing"]


@pytest.mark.parametrize("value", [-1, 101], ids=["below 0 is refused", "above 100 is refused"])
def test_wealth_outside_the_edges_is_refused(value):
    frame = pd.DataFrame({"wealth_percentile": pd.array([50, value], dtype="Int64")})
    with pytest.raises(SchemaError, match="'wealth_percentile' has 1 values outside"):
        WealthGroup().fit(frame)


@pytest.mark.parametrize(
    "edges", [[0], [0, 50, 50, 100], ["a", "b"]], ids=["one edge", "not increasing", "text"]
)
def test_bad_edges_are_refused(edges):
    with pytest.raises(ValueError, match="edges"):
        WealthGroup(edges=edges).fit(pd.DataFrame({"wealth_percentile": [1]}))


# --- CategoryEncoder ------------------------------------------------------------------------


def _codes_frame(parents, mbo_level, flags):
    return pd.DataFrame(
        {
            "parents": pd.Categorical(parents, categories=["both", "one", "none"]),
            "mbo_level": pd.array(mbo_level, dtype="Int64"),
            "crime_suspect": flags,
        }
    )


def test_category_encoding_keeps_the_categories_learnt_in_fit():
    train = _codes_frame(["one", "both", "none"], [2, None, 4], [True, False, False])
    score = _codes_frame(["none", "none"], [4, 4], [False, True])  # fewer levels, other order
    encoder = CategoryEncoder(columns=["parents", "mbo_level"]).fit(train)
    first, second = encoder.transform(train), encoder.transform(score)
    for out in (first, second):
        assert list(out["parents"].cat.categories) == ["both", "one", "none"]
        assert list(out["mbo_level"].cat.categories) == ["2", "4", "none"]
        assert out["crime_suspect"].dtype == np.float64
    assert first["mbo_level"].tolist() == ["2", "none", "4"]
    assert second["parents"].tolist() == ["none", "none"]
    assert second["crime_suspect"].tolist() == [0.0, 1.0]


def test_category_encoding_turns_an_unseen_level_into_nan_with_a_warning():
    encoder = CategoryEncoder(columns=["parents", "mbo_level"]).fit(
        _codes_frame(["both", "one"], [2, 3], [True, False])
    )
    with pytest.warns(UserWarning, match="'parents' has 1 values not seen in fit"):
        out = encoder.transform(_codes_frame(["none", "one"], [2, 3], [True, True]))
    assert out["parents"].isna().tolist() == [True, False]


def test_onehot_drops_the_reference_level_and_names_columns_column_level():
    train = _codes_frame(["one", "both", "none"], [2, None, 4], [True, False, False])
    out = CategoryEncoder(columns=["parents", "mbo_level"], encoding="onehot").fit_transform(train)
    # references: parents "both" (first category), mbo_level "2" (smallest value)
    assert list(out.columns) == [
        "parents_one", "parents_none", "mbo_level_4", "mbo_level_none", "crime_suspect",
    ]
    assert out.to_numpy().tolist() == [
        [1.0, 0.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 0.0, 1.0, 0.0],
        [0.0, 1.0, 1.0, 0.0, 0.0],
    ]


def test_onehot_reference_can_be_chosen_per_column_and_drop_none_keeps_all():
    train = _codes_frame(["one", "both", "none"], [2, None, 4], [True, False, False])
    chosen = CategoryEncoder(
        columns=["parents", "mbo_level"],
        encoding="onehot",
        reference={"parents": "none", "mbo_level": 4},
    ).fit(train)
    assert chosen.reference_ == {"parents": "none", "mbo_level": "4"}
    assert list(chosen.get_feature_names_out()) == [
        "parents_both", "parents_one", "mbo_level_2", "mbo_level_none", "crime_suspect",
    ]
    every = CategoryEncoder(columns=["parents"], encoding="onehot", drop=None).fit(train)
    assert list(every.get_feature_names_out()) == [
        "parents_both", "parents_one", "parents_none", "mbo_level", "crime_suspect",
    ]


def test_onehot_unseen_level_is_all_zeros_with_a_warning():
    encoder = CategoryEncoder(columns=["parents"], encoding="onehot").fit(
        _codes_frame(["both", "one"], [2, 3], [True, False])
    )
    with pytest.warns(UserWarning, match="'parents'.*all zeros"):
        out = encoder.transform(_codes_frame(["none"], [2], [True]))
    assert out["parents_one"].tolist() == [0.0]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.booleans())
def test_onehot_columns_are_scikit_learns_onehot_columns(seed, n_columns, drop_first):
    # The independent reference: OneHotEncoder on the same frames (unseen values: all zeros), with
    # the reference level's column removed where drop="first"; missing values are a level.
    rng = np.random.default_rng(seed)
    levels = [list("abcd")[: rng.integers(1, 5)] for _ in range(n_columns)]

    def frame(n, unseen):
        return pd.DataFrame({f"c{j}": pd.Series(rng.choice(lv + (["zz"] if unseen else []) + [None], n), dtype=object)
                             for j, lv in enumerate(levels)}).assign(x=rng.normal(size=n))

    train, test = frame(300, False), frame(200, True)
    columns = [f"c{j}" for j in range(n_columns)]
    encoder = CategoryEncoder(columns=columns, encoding="onehot", drop="first" if drop_first else None).fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unseen "zz" is reported
        ours = encoder.transform(test)
    filled = lambda f: f[columns].fillna("none").astype(str)  # noqa: E731
    reference = OneHotEncoder(categories=[encoder.categories_[c] for c in columns], handle_unknown="ignore",
                              sparse_output=False).fit(filled(train))
    expected = pd.DataFrame(reference.transform(filled(test)), columns=reference.get_feature_names_out())
    kept = [name for name in expected.columns if name.partition("_")[2] != encoder.reference_.get(name.partition("_")[0])]
    assert list(ours.columns) == kept + ["x"]
    assert np.array_equal(ours[kept].to_numpy(), expected[kept].to_numpy())
    assert np.array_equal(ours["x"].to_numpy(), test["x"].to_numpy())


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"columns": ["parents"], "reference": {"gender": "m"}}, "'gender'"),
        ({"columns": ["parents"], "reference": {"parents": "three"}}, "'three'"),
        ({"columns": ["region"]}, "'region'"),
        ({"columns": ["parents"], "missing_level": "both"}, "missing_level"),
    ],
    ids=[
        "a reference for a non-categorical column is named",
        "a reference level not seen in fit is named",
        "an unknown column is named",
        "a missing level that is a real level is refused",
    ],
)
def test_category_encoder_refuses_bad_parameters(params, named):
    frame = _codes_frame(["both", None], [2, 3], [True, False])
    with pytest.raises(SchemaError, match=named):
        CategoryEncoder(encoding="onehot", **params).fit(frame)


def test_category_encoder_float64_in_gives_float64_out():
    frame = pd.DataFrame({"a": np.array([0.5, 1.5]), "b": np.array([1.0, 2.0])})
    for encoding in ("category", "onehot"):
        out = CategoryEncoder(encoding=encoding).fit_transform(frame)
        assert (out.dtypes == np.float64).all()


# --- the feature spec and the pipeline --------------------------------------------------------

#: Worked out by hand from train_frame (see its comments). Reference levels: age_group "<=14"
#: (first seen), mbo_level "2" (smallest), parents "one" (chosen), wealth_group "q1".
SMALL_SPEC = {
    "features": [
        "age_group", "mbo_level", "parents", "multiproblematiek", "wealth_group", "delay_years",
    ],
    "reference": {"parents": "one"},
}
SMALL_COLUMNS = [
    "age_group_<=16", "age_group_18", "age_group_19",
    "mbo_level_4", "mbo_level_none",
    "parents_both", "parents_none",
    "multiproblematiek",
    "wealth_group_q2", "wealth_group_q5", "wealth_group_missing",
    "delay_years",
]
SMALL_MATRIX = [
    [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1],
    [0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 2],
    [0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 3],
]


def test_onehot_pipeline_builds_the_hand_computed_matrix(train_frame):
    pipeline = build_feature_pipeline(SMALL_SPEC)
    out = pipeline.fit_transform(train_frame)
    assert list(out.columns) == SMALL_COLUMNS
    assert list(pipeline.get_feature_names_out()) == SMALL_COLUMNS
    assert out.to_numpy().tolist() == SMALL_MATRIX
    assert out.index.equals(train_frame.index)


def test_pipeline_scores_a_frame_with_other_columns_in_another_order(train_frame):
    pipeline = build_feature_pipeline(SMALL_SPEC).fit(train_frame)
    score = train_frame.drop(columns=["vsv", "migration_background"]).iloc[::-1]
    score = score[score.columns[::-1]]
    out = pipeline.transform(score)
    assert out.to_numpy().tolist() == SMALL_MATRIX[::-1]
    assert out.index.equals(score.index)


def test_category_pipeline_gives_identical_categories_to_train_and_score(train_frame):
    spec = {**SMALL_SPEC, "encoding": "category"}
    pipeline = build_feature_pipeline(spec).fit(train_frame)
    score = person_years(
        {**MBO, "mbo_level": 4, "birth_date": "1999-10-01", "wealth_percentile": 85}
    )
    expected = {
        "age_group": ["<=14", "<=16", "18", "19"],
        "mbo_level": ["2", "4", "none"],
        "parents": ["both", "one", "none"],
        "wealth_group": ["q1", "q2", "q5", "missing"],
    }
    for frame in (train_frame, score):
        out = pipeline.transform(frame)
        assert list(out.columns) == SMALL_SPEC["features"]
        for column, categories in expected.items():
            assert isinstance(out[column].dtype, pd.CategoricalDtype)
            assert list(out[column].cat.categories) == categories
    scored = pipeline.transform(score)
    assert scored.iloc[0][["age_group", "mbo_level", "wealth_group"]].tolist() == ["19", "4", "q5"]
    assert scored["delay_years"].dtype == np.float64


def test_the_default_spec_file_is_the_default_spec():
    assert load_config(DEFAULT_SPEC_FILE, FeatureSpec) == FeatureSpec()


def test_the_default_pipeline_runs_and_matches_its_feature_names(train_frame):
    pipeline = build_feature_pipeline(str(DEFAULT_SPEC_FILE))
    out = pipeline.fit_transform(train_frame)
    assert list(out.columns) == list(pipeline.get_feature_names_out())
    assert "migration_background" not in " ".join(out.columns)
    assert not out.isna().any().any()


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"features": ["age_group", "shoe_size"]}, "'shoe_size'"),
        ({"features": ["age_group", "migration_background"]}, "'migration_background'"),
        ({"features": ["age_group"], "colour": "red"}, "'colour'"),
        ({"features": ["age_group"], "multiproblematiek": {"domain": ["x"]}},
         "multiproblematiek.domain"),
        ({"features": ["parents"], "reference": {"gender": "m"}}, "'gender'"),
        ({"features": ["parents"], "reference": {"parents": "three"}}, "'three'"),
        ({"features": ["age_group"], "upper_age": 30}, "upper_age"),
        ({"multiproblematiek": {"domains": ["psychosocial"], "threshold": 2}}, "threshold"),
        ({"wealth": {"edges": [0, 60, 40, 100]}}, "edges"),
        ({"features": ["age_group"], "encoding": "ordinal"}, "encoding"),
        ({"features": ["region_code"]}, "'region_code'"),
    ],
    ids=[
        "an unknown feature is named",
        "an excluded feature is named",
        "an unknown key is named",
        "an unknown nested key is named with its path",
        "a reference for an unselected feature is named",
        "an unknown reference level is named",
        "an upper age above 27 is refused",
        "a threshold above the number of domains is refused",
        "edges that go down are refused",
        "an unknown encoding is refused",
        "the region is no feature",
    ],
)
def test_bad_specs_raise_config_error_naming_the_problem(spec, named):
    with pytest.raises(ConfigError, match=named):
        build_feature_pipeline(spec)


def test_an_unknown_feature_lists_the_allowed_names():
    with pytest.raises(ConfigError, match="choose from .*age_group.*wealth_group"):
        build_feature_pipeline({"features": ["shoe_size"]})


def test_a_spec_file_with_an_unknown_key_names_file_and_key(tmp_path):
    path = tmp_path / "features.yaml"
    path.write_text("features: [age_group]\nencodeing: onehot\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"features\.yaml: unknown key 'encodeing'"):
        build_feature_pipeline(path)


def test_allow_excluded_lets_an_audit_model_use_migration_background(train_frame):
    frame = train_frame.assign(
        migration_background=pd.Categorical(
            ["none", "western", "none", "non_western"],
            categories=CATEGORICAL_CODES["migration_background"],
        )
    )
    spec = {"features": ["parents", "migration_background"], "allow_excluded": True}
    out = build_feature_pipeline(spec).fit_transform(frame)
    assert list(out.columns) == [
        "parents_one",
        "parents_none",
        "migration_background_western",
        "migration_background_non_western",
    ]
    assert out["migration_background_non_western"].tolist() == [0.0, 0.0, 0.0, 1.0]


# --- scikit-learn composition ---------------------------------------------------------------


def test_clone_gives_an_unfitted_pipeline_with_the_same_result(train_frame):
    pipeline = build_feature_pipeline(SMALL_SPEC).fit(train_frame)
    copy = clone(pipeline)
    assert copy.get_params(deep=False).keys() == pipeline.get_params(deep=False).keys()
    pd.testing.assert_frame_equal(copy.fit_transform(train_frame), pipeline.transform(train_frame))


def test_pipeline_feeds_a_logistic_model(train_frame):
    model = Pipeline(
        [("features", build_feature_pipeline(SMALL_SPEC)), ("model", LogisticRegression())]
    )
    y = [0, 1, 0, 1]
    proba = model.fit(train_frame, y).predict_proba(train_frame)
    assert proba.shape == (4, 2)
    assert list(model[-1].feature_names_in_) == SMALL_COLUMNS


def test_category_output_trains_lightgbm_and_scores_a_frame_with_fewer_levels(train_frame):
    import lightgbm  # imported here: only this test needs it
    spec = {**SMALL_SPEC, "encoding": "category"}
    model = Pipeline(
        [
            ("features", build_feature_pipeline(spec)),
            ("model", lightgbm.LGBMClassifier(n_estimators=3, min_child_samples=1, verbose=-1)),
        ]
    )
    train = pd.concat([train_frame] * 5, ignore_index=True)
    model.fit(train, [0, 1, 0, 1] * 5)
    score = person_years(  # one level of each feature, all seen in fit
        {**MBO, "mbo_level": 4, "birth_date": "1999-10-01", "wealth_percentile": 85}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.predict_proba(score).shape == (1, 2)


def test_pickled_pipeline_gives_the_same_matrix(train_frame):
    pipeline = build_feature_pipeline({**SMALL_SPEC, "encoding": "category"}).fit(train_frame)
    again = pickle.loads(pickle.dumps(pipeline))
    pd.testing.assert_frame_equal(again.transform(train_frame), pipeline.transform(train_frame))


@pytest.mark.parametrize(
    ("transformer", "columns"),
    [
        (AgeAtReferenceDate(), ["age", "age_group"]),
        (Multiproblematiek(), ["problem_count", "multiproblematiek"]),
        (WealthGroup(), ["wealth_group"]),
        (CategoryEncoder(columns=["parents"], encoding="onehot"), None),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, list) else "",
)
def test_set_output_pandas_keeps_names_dtypes_and_index(transformer, columns, train_frame):
    frame = train_frame.set_index(pd.Index([10, 20, 30, 40], name="row"))
    if isinstance(transformer, CategoryEncoder):
        frame = frame[["parents", "delay_years"]]
    default = clone(transformer).fit_transform(frame)
    pandas = clone(transformer).set_output(transform="pandas").fit_transform(frame)
    pd.testing.assert_frame_equal(default, pandas)
    assert pandas.index.equals(frame.index)
    if columns is not None:
        assert list(pandas.columns) == columns


def test_transformers_compose_in_a_column_transformer(train_frame):
    derive = ColumnTransformer(
        [
            ("age", AgeAtReferenceDate(), ["birth_date", "school_year", "sector"]),
            ("wealth", WealthGroup(), ["wealth_percentile"]),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    out = derive.fit_transform(train_frame)
    assert list(out.columns) == ["age", "age_group", "wealth_group"]
    assert out["age"].tolist() == [14, 16, 19, 18]
    assert out["wealth_group"].tolist() == ["q1", "q2", "missing", "q5"]


def test_fitting_on_the_whole_table_and_scoring_it_again_warns_nothing(train_frame):
    pipeline = build_feature_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipeline.fit(train_frame).transform(train_frame)


@pytest.mark.parametrize(
    "module",
    ["_age", "_multiproblematiek", "_wealth", "_encoding", "_pipeline"],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(f"vsvrisk.features.{module}"), verbose=False)
    assert result.attempted > 0 and result.failed == 0
