"""Vietnamese name normalisation shared by every loader and the search box.

Report files spell the same unit many ways: NFC or NFD (Excel on a Mac), "Hòa" or "Hoà"
(tone mark placement), with or without "Tỉnh"/"Thành phố"/"TP."/"Xã"/"Phường", with or
without diacritics. Two keys absorb those variants:

- ``tone_key``: lower case, prefix removed, tone marks moved to the end of each word, so
  "Hòa" and "Hoà" agree while "Hòa" and "Hoa" still differ;
- ``ascii_key``: no diacritics and no spaces at all ("quangdien"), used when the
  diacritics are missing or wrong.
"""

from __future__ import annotations

import re
import unicodedata

# Combining tone marks (grave, acute, hook above, tilde, dot below). Vowel-quality marks
# (circumflex, breve, horn) are kept by tone_key because they change the word.
_TONE_MARKS = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}

# Administrative prefixes, longest first so "thành phố" wins over "thành".
PROVINCE_PREFIXES = ("thành phố trực thuộc trung ương", "thành phố", "tỉnh", "tp.", "tp", "t.")
COMMUNE_PREFIXES = ("đặc khu", "thị trấn", "phường", "xã", "p.", "x.")

# The division type each prefix names (used to break ties between "Xã X" and "Phường X").
PREFIX_KIND = {"xã": "xã", "x.": "xã", "phường": "phường", "p.": "phường", "đặc khu": "đặc khu"}


def nfc(text: str) -> str:
    """Unicode NFC with collapsed white space: the form stored in the warehouse."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(text))).strip()


def strip_diacritics(text: str) -> str:
    """'Quảng Điền' -> 'Quang Dien' (đ/Đ become d/D)."""
    decomposed = unicodedata.normalize("NFD", nfc(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d").replace("Đ", "D")


# "UBND tỉnh Phú Thọ", "Ủy ban nhân dân xã Quảng Điền": a unit's People's Committee names the
# unit (the National Public Service Portal's rankings name units so), matched without diacritics.
_COUNCIL = re.compile(r"^(uy ban nhan dan|ubnd|ub nd)\s+(?=\S)")


def without_council(text: str) -> str:
    """'UBND tỉnh Phú Thọ' -> 'tỉnh Phú Thọ' (NFC); any other text as it is (NFC)."""
    clean = nfc(text)
    match = _COUNCIL.match(strip_diacritics(clean).lower())
    if match is None:
        return clean
    words = len(match.group(1).split())
    return clean.split(None, words)[words]


def split_prefix(text: str, prefixes: tuple[str, ...]) -> tuple[str | None, str]:
    """Split a leading administrative prefix off a name: ('xã', 'Quảng Điền')."""
    name = nfc(text)
    lowered = name.lower()
    for prefix in prefixes:
        if lowered.startswith(prefix):
            rest = name[len(prefix):]
            # A prefix must end at a word boundary ("Tp.Huế" is fine, "Tỉnhxyz" is not).
            if prefix.endswith(".") or not rest or not rest[0].isalnum():
                rest = rest.lstrip(" .-")
                if rest:
                    return prefix, rest
    return None, name


def tone_key(text: str) -> str:
    """Lower-case key insensitive to NFC/NFD, punctuation and tone-mark placement only."""
    words = []
    decomposed = unicodedata.normalize("NFD", nfc(text).lower())
    # Punctuation varies between sources ("Chân Mây – Lăng Cô", "M’Drắk" vs "M'Drắk").
    decomposed = "".join(ch if ch.isalnum() or unicodedata.combining(ch) else " " for ch in decomposed)
    for word in decomposed.split():
        base = "".join(ch for ch in word if ch not in _TONE_MARKS)
        tones = "".join(sorted(ch for ch in word if ch in _TONE_MARKS))
        words.append(unicodedata.normalize("NFC", base) + tones)
    return " ".join(w for w in words if w)


def ascii_key(text: str) -> str:
    """Key without diacritics, case, spaces or punctuation: 'Xã Quảng Điền' -> 'quangdien'
    once the prefix is removed by the caller."""
    return re.sub(r"[^0-9a-z]", "", strip_diacritics(text).lower())


def search_key(text: str) -> str:
    """Key for free-text search boxes: diacritics-free words separated by single spaces."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", strip_diacritics(text).lower()).split())
