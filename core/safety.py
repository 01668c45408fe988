"""Text from outside (a URL, a file, a user) stays text wherever the product shows or writes it.

- :func:`plain` makes a string inert inside Streamlit markdown (warnings, captions, headings):
  no link, image, emphasis, colour directive or autolinked URL can come out of it.
- :func:`neutralise_cell` / :func:`neutralise` make spreadsheet cells inert: a text cell that
  Excel or LibreOffice would run as a formula gets a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

# CommonMark's escapable punctuation, plus ':' (Streamlit's :colour[…] and :material/…: and
# GFM's autolinked http://…), '~' and '$' (strikethrough, LaTeX).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&\"'=])")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def plain(text: Any) -> str:
    """``text`` escaped so that Streamlit markdown shows it literally, on one line."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def neutralise_cell(value: Any) -> Any:
    """'=HYPERLINK(...)' -> "'=HYPERLINK(...)"; numbers and other text unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` safe to open in a spreadsheet (text cells and column names)."""
    out = df.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[column] = series.map(neutralise_cell).astype(object)
    return out
