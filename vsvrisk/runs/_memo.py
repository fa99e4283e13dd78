"""What the workflows computed on a cohort, remembered while a caller asks for it (the demo).

``vsvrisk demo`` runs several workflows in one process on the same model and cohorts: training
scores the evaluation cohort (and the training cohort, for the drift check); the comparison, the
two allocations, the audit and the impact study score them again; the explanation and the
allocation each take the exact SHAP values of the same cohort. Inside :func:`remembering`, each
of those is computed once: a result is kept under the model (its run) and the cohort's content
hash (:func:`vsvrisk.cohorts.frame_sha256`, the hash a training run tags its cohorts with), and
the same question gets a copy of the same answer, so the numbers are those of a fresh
computation. The person-year files the steps read are read and validated once as well (kept under
the file's path, size and modification time, and the reading options), and a training run is
remembered as the fit of its spec on its training cohort, so that the impact study takes an
alternative that the demo has trained already (the same spec on the same cohort) from that
run. Outside it nothing is hashed and nothing is kept: one command in one process has nothing
to share.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os

import numpy as np

from vsvrisk import tracking

_memory: dict | None = None


@contextlib.contextmanager
def remembering():
    """Remember predictions and SHAP sums per model and cohort until the block ends.

    Examples
    --------
    >>> with remembering():
    ...     pass  # the workflows called here share what they computed on the same cohorts
    """
    global _memory
    outer = _memory
    _memory = {} if outer is None else outer
    try:
        yield
    finally:
        _memory = outer


def active() -> bool:
    """Whether the workflows are remembering now."""
    return _memory is not None


def digest(cohort) -> str | None:
    """The cohort's content hash while remembering (None outside: nothing to look up)."""
    if _memory is None:
        return None
    from vsvrisk.cohorts import frame_sha256

    return frame_sha256(cohort)


def person_years(path, **options):
    """``read_person_years(path, **options)``, read and validated once per file while remembering.

    Each caller gets its own copy (pandas copy-on-write: a change to it stays its own). A file
    rewritten in between (another size or modification time) is read again.
    """
    from vsvrisk.data import read_person_years

    if _memory is None:
        return read_person_years(path, **options)
    stat = os.stat(path)
    key = ("frame", os.path.realpath(path), stat.st_size, stat.st_mtime_ns, repr(sorted(options.items())))
    if key not in _memory:
        _memory[key] = read_person_years(path, **options)
    return _memory[key].copy(deep=False)


def remember_risk(model_ref: str, cohort_digest: str, p) -> None:
    """Keep ``p``, the model's risks of the cohort with that hash (training has them anyway)."""
    if _memory is not None:
        _memory[("risk", model_ref, cohort_digest)] = np.array(p, dtype=float)


def _fit_key(spec, train_digest: str) -> tuple:
    return ("fit", spec.fit_key(), train_digest)  # the rows are the training cohort's hash


def remember_fit(run_id: str, spec, train_digest: str) -> None:
    """Keep that run ``run_id`` fitted ``spec`` on the training cohort with that hash."""
    if _memory is not None:
        _memory[_fit_key(spec, train_digest)] = run_id


def fitted_risks(train, cohort, cohort_digest: str | None = None):
    """``known(spec)`` for :class:`~vsvrisk.audit.FittedBaseline`: the risks of ``cohort`` by a
    run of this block that fitted ``spec`` on ``train`` (None where none did); None outside."""
    if _memory is None:
        return None
    train_digest, cohort_digest = digest(train), cohort_digest or digest(cohort)

    def known(spec):
        run_id = _memory.get(_fit_key(spec, train_digest))
        if run_id is None:
            return None
        key = ("risk", run_id, cohort_digest)
        model = None if key in _memory else tracking.load_model(run_id)  # training kept the risks of its cohorts
        return predicted_risk(run_id, model, cohort, cohort_digest)

    return known


def predicted_risk(model_ref: str, model, cohort, cohort_digest: str | None = None) -> np.ndarray:
    """``model.predict_risk(cohort)`` as an array, computed once per model and cohort while remembering."""
    if _memory is None:
        return model.predict_risk(cohort).to_numpy()
    key = ("risk", model_ref, cohort_digest or digest(cohort))
    if key not in _memory:
        _memory[key] = model.predict_risk(cohort).to_numpy()
    return _memory[key].copy()


def shap_aggregates(model_ref: str, model, cohort, *, chunk_size: int, sample_size: int = 0,
                    random_state: int = 0, cohort_digest: str | None = None):
    """:func:`~vsvrisk.explain.aggregate_shap` of the cohort, computed once per model and cohort
    while remembering.

    The sums do not depend on the sample of rows kept for the plots; a request without a
    sample is answered from one with a sample (which it then leaves out), a request for another
    sample is computed again. The chunk size is part of the question (it orders the sums).
    """
    from vsvrisk.explain import aggregate_shap

    def compute():
        return aggregate_shap(model, cohort, chunk_size=chunk_size, sample_size=sample_size,
                              random_state=random_state)

    if _memory is None:
        return compute()
    key = ("shap", model_ref, cohort_digest or digest(cohort), chunk_size)
    stored = _memory.get(key)
    if stored is None or (sample_size > 0 and stored[0] != (sample_size, random_state)):
        stored = _memory[key] = ((sample_size, random_state), compute())
    aggregates = copy.deepcopy(stored[1])
    if sample_size == 0 and stored[0][0] > 0:
        aggregates = dataclasses.replace(aggregates, sample=aggregates.sample.iloc[:0], sample_values={})
    return aggregates
