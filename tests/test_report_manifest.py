"""The manifest: hashes equal hashlib's, versions present, reproducible apart from the time."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from pydantic import BaseModel

import vsvrisk
from vsvrisk.exceptions import DataFileError
from vsvrisk.report import (
    add_outputs,
    build_manifest,
    content_sha256,
    file_sha256,
    flatten_manifest,
    write_manifest,
)
from vsvrisk.report.manifest import _BLOCK_SIZE


class _Rules(BaseModel):
    budget_eur: int
    max_change: float | None = None
    previous: Path | None = None


@pytest.fixture()
def need_file(tmp_path):
    path = tmp_path / "need.csv"
    path.write_text("region_code,need\n" + "".join(f"{i},{i * 1.5}\n" for i in range(1, 41)))
    return path


def test_file_hash_equals_hashlib_also_across_blocks(tmp_path):
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (2 * _BLOCK_SIZE // 256 + 7)  # more than two blocks
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()


def test_a_missing_file_cannot_be_hashed(tmp_path):
    with pytest.raises(DataFileError, match="nope.csv"):
        file_sha256(tmp_path / "nope.csv")


def test_the_manifest_records_inputs_config_versions_run_and_seed(need_file):
    manifest = build_manifest({"need": need_file, "previous": None},
                              _Rules(budget_eur=1000, previous=Path("last.csv")),
                              model_run_id="run-1", seed=7, extra={"scenario_ignored": True})
    assert manifest["inputs"]["need"] == {
        "path": str(need_file), "sha256": hashlib.sha256(need_file.read_bytes()).hexdigest(),
        "size_bytes": need_file.stat().st_size}
    assert manifest["inputs"]["previous"] is None
    assert manifest["config"] == {"budget_eur": 1000, "max_change": None, "previous": "last.csv"}
    assert manifest["model_run_id"] == "run-1" and manifest["seed"] == 7
    assert manifest["extra"] == {"scenario_ignored": True}
    assert manifest["vsvrisk_version"] == vsvrisk.__version__
    for name in ("python", "numpy", "pandas", "scikit-learn", "lightgbm", "shap", "mlflow",
                 "pyarrow", "pydantic"):
        assert manifest["versions"][name], name
    created = dt.datetime.fromisoformat(manifest["created_utc"].replace("Z", "+00:00"))
    assert created.tzinfo is not None
    assert manifest["outputs"] == {} and manifest["content_sha256"] is None


def test_a_package_that_is_not_installed_is_recorded_as_null(monkeypatch, need_file):
    monkeypatch.setattr("vsvrisk.report.manifest._PACKAGES", ("numpy", "not-a-package-xyz"))
    manifest = build_manifest({}, None, None, None)
    assert manifest["versions"]["not-a-package-xyz"] is None
    assert manifest["versions"]["numpy"]


def test_same_inputs_give_manifests_that_differ_only_in_the_time(need_file, tmp_path):
    config = {"allocation": {"budget_eur": 1000, "max_change": 0.05}, "paths": [need_file]}
    first = build_manifest({"need": need_file}, config, "run-1", 3)
    second = build_manifest({"need": need_file}, config, "run-1", 3)
    second["created_utc"] = "1999-01-01T00:00:00Z"
    differing = {key for key in first if first[key] != second[key]}
    assert differing == {"created_utc"}
    # Also as files: sorted keys, so the JSON differs in that one line only.
    a = write_manifest(first, tmp_path / "a.json").read_text().splitlines()
    b = write_manifest(second, tmp_path / "b.json").read_text().splitlines()
    assert [x for x, y in zip(a, b) if x != y] == [f'  "created_utc": "{first["created_utc"]}",']


def test_a_changed_input_changes_its_hash(need_file):
    before = build_manifest({"need": need_file}, {}, None, None)["inputs"]["need"]["sha256"]
    need_file.write_text(need_file.read_text() + "\n")
    assert build_manifest({"need": need_file}, {}, None, None)["inputs"]["need"]["sha256"] != before


def test_written_manifest_is_sorted_indented_json(need_file, tmp_path):
    manifest = build_manifest({"need": need_file}, {"b": 1, "a": 2}, None, 1)
    text = write_manifest(manifest, tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text) == manifest
    assert text == json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_output_hashes_and_the_content_hash_match_sha256sum(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.html").write_text("<p>é</p>")
    files = {"a.csv": tmp_path / "a.csv", "b.html": tmp_path / "b.html"}
    manifest = add_outputs({"seed": 1}, files)
    assert manifest["outputs"]["a.csv"]["sha256"] == hashlib.sha256(b"x\n1\n").hexdigest()
    lines = "".join(f"{manifest['outputs'][n]['sha256']}  {n}\n" for n in ("a.csv", "b.html"))
    assert manifest["content_sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert content_sha256({n: o["sha256"] for n, o in manifest["outputs"].items()}) == \
        manifest["content_sha256"]
    # coreutils' sha256sum is on every machine vsvrisk supports (Debian); a reader checks with it
    result = subprocess.run(["sha256sum", "a.csv", "b.html"], cwd=tmp_path, check=True, capture_output=True)
    assert hashlib.sha256(result.stdout).hexdigest() == manifest["content_sha256"]


def test_flattening_gives_dotted_keys_with_list_positions_in_number_order():
    pairs = dict(flatten_manifest({"x": list(range(12)), "a": {"b": {"c": 1}}, "e": {}}))
    assert pairs["a.b.c"] == 1 and pairs["e"] == {}
    assert [k for k in pairs if k.startswith("x.")][:3] == ["x.0", "x.1", "x.2"]
    assert list(pairs)[-1] == "x.11"
