"""The allocation config: the shipped file, every key documented, bad files named by key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vsvrisk.allocate import (
    AllocationConfig,
    TopShare,
    allocate,
    load_allocation_config,
    read_previous_allocation,
)
from vsvrisk.exceptions import ConfigError

SHIPPED = Path(__file__).resolve().parents[1] / "configs" / "allocation-2026.yaml"
MINIMAL = "budget_eur: 90000000\nscenario: all\nseed: 1\n"


def write(tmp_path, text, name="allocation.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_2026_config_loads_with_the_agreed_values():
    config = load_allocation_config(SHIPPED)
    assert config.budget_eur == 90_000_000
    assert config.max_change == 0.05 and config.previous is None
    assert config.scenario == TopShare(top_share=0.4)
    assert config.disclosure_threshold == 10
    # Without a previous year there is nothing to dampen against: the rules leave it out.
    assert config.rules().max_change is None and not config.dampening


def test_every_key_of_the_shipped_config_has_a_comment_above_it():
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    keys = [index for index, line in enumerate(lines) if line and line[0].isalpha()]
    assert len(keys) == len(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))
    for index in keys:
        assert lines[index - 1].startswith("#"), f"no comment above '{lines[index]}'"


def test_every_config_field_has_a_description():
    for name, field in AllocationConfig.model_fields.items():
        assert field.description and len(field.description) > 20, name


def test_previous_is_read_from_the_config_folder_and_turns_dampening_on(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    rows = "".join(f"{code},2250000\n" for code in range(1, 41))
    (tmp_path / "allocation-2025.csv").write_text("region_code,amount_eur\n" + rows)
    config = load_allocation_config(
        write(folder, MINIMAL + "max_change: 0.05\nprevious: ../allocation-2025.csv\n"))
    assert config.previous == (tmp_path / "allocation-2025.csv").resolve()
    assert config.dampening and config.rules().max_change == 0.05
    previous = read_previous_allocation(config.previous)
    need = pd.Series(np.arange(1.0, 41.0), index=range(1, 41))
    table = allocate(need, config.rules(), previous)
    assert table["amount_eur"].sum() == 90_000_000
    assert table["change_pct"].abs().max() <= 5 + 1e-4


@pytest.mark.parametrize(
    "text, key",
    [
        (MINIMAL + "max_change: 0.05\nprevious: missing.csv\n", "previous"),
        (MINIMAL + "previous: allocation-2025.csv\n", "previous"),
        (MINIMAL.replace("90000000", "0"), "budget_eur"),
        (MINIMAL.replace("90000000", "90000000.5"), "budget_eur"),
        (MINIMAL + "max_change: 1.5\n", "max_change"),
        (MINIMAL + "floor_eur: -1\n", "floor_eur"),
        (MINIMAL.replace("scenario: all", "scenario: top40"), "scenario"),
        (MINIMAL.replace("scenario: all", "scenario: {top_share: 1.2}"), "top_share"),
        (MINIMAL.replace("seed: 1\n", ""), "seed"),
        (MINIMAL + "budget: 5\n", "budget"),
        (MINIMAL + "interval_level: 90\n", "interval_level"),
        (MINIMAL + "n_bootstrap: -5\n", "n_bootstrap"),
    ],
    ids=[
        "a previous file that does not exist",
        "previous without max_change",
        "a budget of zero",
        "a budget with cents",
        "max_change above 1",
        "a negative floor",
        "an unknown scenario",
        "top_share above 1",
        "no seed",
        "an unknown key",
        "an interval level in percent",
        "a negative number of replicates",
    ],
)
def test_bad_configs_are_one_line_config_errors_naming_the_key(tmp_path, text, key):
    (tmp_path / "allocation-2025.csv").write_text("region_code,amount_eur\n")
    with pytest.raises(ConfigError) as caught:
        load_allocation_config(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    assert f"'{key}" in message or f"{key}:" in message


def test_previous_without_max_change_says_to_set_max_change(tmp_path):
    (tmp_path / "allocation-2025.csv").write_text("region_code,amount_eur\n")
    with pytest.raises(ConfigError, match="key 'previous'.*set max_change"):
        load_allocation_config(write(tmp_path, MINIMAL + "previous: allocation-2025.csv\n"))
