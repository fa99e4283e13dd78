"""The configuration reference in docs/ is the one the code generates."""

from pathlib import Path

from vsvrisk.config_reference import config_reference

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_reference_is_up_to_date():
    assert REFERENCE.read_text(encoding="utf-8") == config_reference(), (
        "docs/configuration.md is out of date: run .venv/bin/python -m vsvrisk.config_reference > docs/configuration.md"
    )


def test_every_key_of_every_config_is_documented():
    text = config_reference()
    for key in ("budget_eur", "max_change", "scenario", "learner", "calibration", "stepwise.tol",
                "multiproblematiek.threshold", "alternatives"):
        assert f"`{key}`" in text, key
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    undocumented = [row.split("|")[1].strip() for row in rows if not row.rstrip(" |").split("|")[-1].strip()]
    assert len(rows) > 60 and undocumented == []
