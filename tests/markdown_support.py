"""What a reader sees of markdown the app builds with ``core.safety.plain`` (AppTest gives
the markdown source: backslash escapes and invisible word joiners included), and of tables
whose numbers the app writes on screen."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from core.safety import WORD_JOINER


def shown(markdown: str) -> str:
    """'Kỳ “1999\\-01”' -> 'Kỳ “1999-01”'."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def shown_cells(dataframe) -> pd.DataFrame:
    """A table as the reader sees it (an AppTest dataframe element of ``dashboard.ui.table``):
    the text of its cells, while ``.value`` gives the numbers underneath."""
    styler = dataframe.proto.arrow_data.styler
    return pa.ipc.open_stream(styler.display_values).read_all().to_pandas()
