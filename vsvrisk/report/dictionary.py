"""The data dictionary: what every column of the CSV files means, in Dutch and English.

CSV columns keep their machine names (``amount_eur``, ``binding``) so that scripts can rely on
them; this dictionary says what each one means. It is generated from the glossary
(:data:`vsvrisk.report.glossary.COLUMNS`): ``python -m vsvrisk.report.dictionary >
docs/data-dictionary.md`` writes the documentation, a test fails when that file is out of date,
and the allocation workbook carries the same table as a sheet.
"""

from __future__ import annotations

import pandas as pd

from vsvrisk.report.glossary import Glossary, glossary

__all__ = ["FILES", "data_dictionary", "dictionary_markdown"]

#: The CSV files vsvrisk writes for people to read on, and their columns in order.
FILES = {
    "allocation.csv": ("region_code", "region_name", "n_persons", "need", "share", "amount_eur", "amount_share",
                       "previous_eur", "change_eur", "change_pct", "lower_eur", "upper_eur", "binding",
                       "amount_unrounded_eur", "share_low", "share_high", "amount_low", "amount_high",
                       "p_change_above", "p_decrease_above", "suppressed"),
    "impact.csv": ("alternative", "region_code", "region_name", "n_persons", "share", "amount_eur",
                   "delta_share_pp", "delta_eur", "suppressed"),
}


def data_dictionary(columns, g: Glossary | None = None) -> pd.DataFrame:
    """One row per column: its machine name, its label and its meaning in the glossary's language.

    Examples
    --------
    >>> data_dictionary(["amount_eur", "model_amount_low"], glossary("en"))["label"].tolist()
    ['Amount', 'Amount, low (model)']
    """
    g = g or glossary("nl")
    names = [str(name) for name in columns]
    return pd.DataFrame({"column": names, "label": [g.column(n) for n in names],
                         "meaning": [g.meaning(n) for n in names]})


def dictionary_markdown() -> str:
    """The data dictionary of every CSV file, as Markdown (``docs/data-dictionary.md``).

    Examples
    --------
    >>> "| `amount_eur` | Bedrag | Amount |" in dictionary_markdown()
    True
    """
    nl, en = glossary("nl"), glossary("en")
    parts = ["# Data dictionary", "",
             "Generated from `vsvrisk/report/glossary.py` by `python -m vsvrisk.report.dictionary`; do not edit by",
             "hand. CSV files keep machine names as column headers so that scripts can rely on them; the workbook",
             "and the pages show the labels below (Dutch by default, English with `--lang en`). Columns that",
             "start with `model_` hold the same interval from model refits instead of resampled pupils.",
             "Euros are whole euros in `amount_eur`; shares and chances are fractions (0-1); `*_pct` and",
             "`*_pp` are percentages and percentage points."]
    for file, columns in FILES.items():
        parts += ["", f"## `{file}`", "", "| column | label (nl) | label (en) | meaning |", "|---|---|---|---|"]
        for name in columns:
            parts.append(f"| `{name}` | {nl.column(name)} | {en.column(name)} | {en.meaning(name)} |")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(dictionary_markdown(), end="")
