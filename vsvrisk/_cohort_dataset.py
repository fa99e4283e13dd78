"""A cohort as an MLflow dataset: its name, digest, source, schema and row count, never its rows.

MLflow's UI lists a run's datasets (the Datasets column) from ``mlflow.log_input``. A
``PandasDataset`` would need the frame; a ``MetaDataset`` carries only metadata, which is what
may leave the secure environment. The digest is the start of the cohort's own SHA-256 (the full
hash is a tag of the run), so two runs on the same cohort show the same dataset.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema

__all__ = ["CohortDataset", "log_cohort"]


class CohortDataset(MetaDataset):
    """MLflow's ``MetaDataset`` with a profile (row count, school year), which the UI shows."""

    def __init__(self, *, profile: dict, **rest):
        self._profile = profile
        super().__init__(**rest)

    @property
    def profile(self) -> dict:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        # MetaDataset leaves the profile out of what it logs.
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


def _schema(frame: pd.DataFrame):
    """The MLflow column schema of a frame (category and text columns as strings)."""
    def kind(series: pd.Series) -> DataType:
        if pd.api.types.is_bool_dtype(series):
            return DataType.boolean
        if pd.api.types.is_integer_dtype(series):
            return DataType.long
        if pd.api.types.is_float_dtype(series):
            return DataType.double
        if pd.api.types.is_datetime64_any_dtype(series):
            return DataType.datetime
        return DataType.string

    return Schema([ColSpec(kind(frame[name]), name, required=False) for name in frame.columns])


def _dataset_source(source: dict, school_year: int):
    """Where a cohort came from: its file, or the generator call that draws it again."""
    if source.get("data_path"):
        # MLflow registers its local artifact source under two schemes ("" and "file") and warns
        # that a path matches both; they are the same class of source.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            return resolve_dataset_source(Path(source["data_path"]).resolve().as_uri())
    return CodeDatasetSource({"generator": "vsvrisk.synth.generate", "description": source["data_source"],
                              "school_year": school_year})


def log_cohort(cohort: pd.DataFrame, *, context: str, school_year: int, source: dict, sha256: str) -> None:
    """Log a cohort to the active run as an MLflow dataset: no rows, only what identifies it.

    Parameters
    ----------
    cohort : DataFrame
        The cohort; only its columns, dtypes and length are read.
    context : str
        ``training`` or ``evaluation`` (the UI shows it beside the dataset).
    school_year : int
    source : dict
        ``data_path`` for a file, else ``data_source`` (the synthetic population's description).
    sha256 : str
        SHA-256 of the cohort's contents; its first 12 characters are the dataset's digest.
    """
    dataset = CohortDataset(
        source=_dataset_source(source, school_year),
        name=f"cohort {school_year}/{str(school_year + 1)[-2:]}",
        digest=sha256[:12],
        schema=_schema(cohort),
        profile={"num_rows": len(cohort), "school_year": school_year},
    )
    mlflow.log_input(dataset, context=context)

