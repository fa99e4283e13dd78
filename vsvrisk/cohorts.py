"""The cohorts a model spec is fitted on and scores: a person-year file, or its synthetic population.

One place that turns a spec's ``data`` section into a frame, so that training, explaining,
auditing, the impact study and the allocation all read (or draw) the same cohorts, with the same
description of where they came from (for manifests and MLflow tags).
"""

from __future__ import annotations

import hashlib
import os

import pandas as pd

__all__ = ["frame_sha256", "load_training_data"]


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's contents (row order included, index ignored)."""
    # Without categorising, pandas hashes text value by value instead of hashing the distinct
    # values and mapping them back: the same row hashes, without factorising a column whose
    # values are mostly distinct (person_id: a third less time on a national cohort). Missing
    # text hashes differently that way, so a frame with missing text is hashed as before.
    # Arrow-backed text is hashed from its buffers (vsvrisk._hashing): pandas' numbers, without a
    # Python string per person id.
    from vsvrisk._hashing import row_hashes  # numba: on first use

    text = frame.select_dtypes(include=["object", "string"])
    if text.shape[1] and text.isna().to_numpy().any():
        hashed = pd.util.hash_pandas_object(frame, index=False, categorize=True).to_numpy()
    else:
        hashed = row_hashes(frame)
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def load_training_data(spec, data: str | os.PathLike | None, *, school_years=None, read=None) -> tuple[pd.DataFrame, dict]:
    """The frame to train on and a description of where it came from (for the manifest).

    Without ``data``, the default synthetic population of the spec's ``data`` section (both
    cohorts, seeded) is drawn; its hash is taken over the frame itself. ``school_years``: read
    only the rows of those years from ``data`` (the synthetic population is drawn whole).
    ``read``: what reads ``data`` (default :func:`vsvrisk.data.read_person_years`; a workflow
    passes one that remembers what it read).
    """
    from vsvrisk.data import read_person_years

    read = read or read_person_years
    years = [spec.data.train_year, spec.data.eval_year]
    if data is not None:
        from vsvrisk.report import file_sha256

        frame = read(data, upper_age=spec.upper_age, require_target=True, school_years=school_years)
        source = {"data_source": "file", "data_path": str(data), "data_sha256": file_sha256(data)}
    else:
        from vsvrisk.synth import generate

        n, seed = spec.data.synthetic_n_persons, spec.data.synthetic_seed
        frame = generate(n, school_years=sorted(set(years)), seed=seed, upper_age=spec.upper_age).frame
        source = {"data_source": f"synthetic (n_persons={n} per cohort, seed={seed})", "data_sha256": frame_sha256(frame)}
    return frame, source
