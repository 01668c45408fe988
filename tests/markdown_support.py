"""What a reader sees of markdown the app builds with ``core.safety.plain`` (AppTest gives
the markdown source: backslash escapes and invisible word joiners included)."""

from __future__ import annotations

import re

from core.safety import WORD_JOINER


def shown(markdown: str) -> str:
    """'Kỳ “1999\\-01”' -> 'Kỳ “1999-01”'."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")
