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

# Every ASCII punctuation character: CommonMark lets each be escaped with a backslash, and
# each escaped one is shown as itself (links, images, emphasis, code, HTML, headings, lists,
# :colour[…] directives, $maths$, tables).
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Streamlit's markdown also rewrites the *text* it has parsed, after escapes are resolved, so
# escaping alone does not stop: GFM autolinks (http://…, https://…, www.…, name@host.tld,
# mailto:…), :material_icon: / :material/icon:, :streamlit: (an image), :emoji: shortcodes,
# and the typographic arrows and dashes ("->", "<-", "<->", "--", ">=", "<=", "~=" between
# spaces). An invisible WORD JOINER (U+2060) after every ':', before every '.' and between the
# two characters of those arrows breaks each pattern without changing what a reader sees.
WORD_JOINER = "\u2060"
_REWRITTEN = re.compile(r"(?<=:)|(?=\.)|(?<=[-<>~])(?=[-<>=])")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def plain(text: Any) -> str:
    """``text`` made inert inside Streamlit markdown (warnings, captions, headings, labels):
    shown literally, on one line (measured in Chromium: tests/test_browser.py)."""
    flat = " ".join(str(text).split())
    return _ASCII_PUNCTUATION.sub(r"\\\1", _REWRITTEN.sub(WORD_JOINER, flat))


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
