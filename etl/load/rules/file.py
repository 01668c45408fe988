"""Reasons a file is refused as a whole (raised as :class:`etl.load.errors.FileRejected` by the
readers, the workbook preflight and the checking process), and the header checks of a report.
No pandas here: the preflight runs before any parser is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl.load.rules import Reason

if TYPE_CHECKING:
    from etl.load.rules.context import Report

EMPTY_FILE = Reason("empty_file")
ZERO_BYTES = EMPTY_FILE.says("reason_zero_bytes", "suggestion_export_report")
NO_CONTENT = EMPTY_FILE.says("reason_no_content", "suggestion_export_report")
NO_DATA_ROWS = EMPTY_FILE.says("reason_no_data_rows", "suggestion_fill_row")
NO_VALUES = EMPTY_FILE.says("reason_no_values", "suggestion_fill_value")
ONLY_A_TOTAL = EMPTY_FILE.says("reason_only_a_total", "suggestion_fill_value")
WORKBOOK_WITHOUT_ROWS = EMPTY_FILE.says("reason_workbook_without_rows", "suggestion_export_dossiers")
NO_DOSSIERS = EMPTY_FILE.says("reason_no_dossiers", "suggestion_export_dossiers")

ENCODING = Reason("encoding")
UTF16_WITHOUT_BOM = ENCODING.says("reason_utf16_without_bom", "suggestion_utf8")
NOT_VALID_TEXT = ENCODING.says("reason_not_valid", "suggestion_save_as", "encoding", "byte", "line")
NOT_UTF8_EXPORT = ENCODING.says("reason_not_utf8", "suggestion_dossiers")

TOO_LARGE = Reason("too_large")
REPORT_SIZE = TOO_LARGE.says("reason_report_size", "suggestion_split_or_raise", "size_mb", "limit_mb", "env")
DOSSIER_SIZE = TOO_LARGE.says("reason_dossier_size", "suggestion_split_or_raise", "size_mb", "limit_mb", "env")
COLUMNS = TOO_LARGE.says("reason_columns", "suggestion_delete_columns", "columns", "limit", "env")
ROWS = TOO_LARGE.says("reason_rows", "suggestion_split", "limit", "env")
CELLS = TOO_LARGE.says("reason_cells", "suggestion_split", "rows", "columns", "cells", "limit", "env")
DECODED = TOO_LARGE.says("reason_decoded", "suggestion_split", "size_mb", "limit_mb", "env")
SHEET_COLUMNS = TOO_LARGE.says("reason_sheet_columns", "suggestion_trim", "sheet", "cell", "columns", "limit", "env")
SHEET_ROWS = TOO_LARGE.says("reason_sheet_rows", "suggestion_trim_rows", "sheet", "cell", "rows", "limit", "env")
SHEET_CELLS = TOO_LARGE.says("reason_sheet_cells", "suggestion_trim", "sheet", "rows", "columns", "cells", "limit",
                             "env")
SHEET_DECLARES = TOO_LARGE.says("reason_sheet_declares", "suggestion_trim", "sheet", "rows", "columns",
                                "max_rows", "max_columns", "max_cells")
UNPACKED = TOO_LARGE.says("reason_unpacked", "suggestion_trim", "size_mb", "limit_mb", "env")
PART_RATIO = TOO_LARGE.says("reason_part_ratio", "suggestion_resave", "part", "ratio", "packed_mb", "size_mb",
                            "limit", "env")
PART_BEYOND = TOO_LARGE.says("reason_part_beyond", "suggestion_resave", "part", "size")
WORKBOOK_SIZE = TOO_LARGE.says("reason_workbook_size", "suggestion_workbook_size", "size_mb", "limit_mb", "env")

CELL_TOO_LARGE = Reason("cell_too_large")
CELL_OF = CELL_TOO_LARGE.says("reason", "suggestion", "line", "chars", "limit", "env")
CELL_OVER = CELL_TOO_LARGE.says("reason_over", "suggestion", "line", "parser_limit", "limit", "env")

TOO_DEMANDING = Reason("too_demanding")
TOOK_TOO_LONG = TOO_DEMANDING.says("reason_time", "suggestion", "seconds", "env")
TOO_MUCH_MEMORY = TOO_DEMANDING.says("reason_memory", "suggestion", "limit_mb", "env")

BAD_FORMAT = Reason("bad_format")
UNREADABLE_WORKBOOK = BAD_FORMAT.says("reason_workbook", "suggestion_resave")
DAMAGED_XLSX = BAD_FORMAT.says("reason_damaged_xlsx", "suggestion_resave")
DAMAGED_XLS = BAD_FORMAT.says("reason_damaged_xls", "suggestion_resave")
NO_WORKBOOK_STREAM = BAD_FORMAT.says("reason_no_workbook_stream", "suggestion_resave")
ENCRYPTED = BAD_FORMAT.says("reason_encrypted", "suggestion_password")
NOT_A_CELL_ADDRESS = BAD_FORMAT.says("reason_not_a_cell_address", "suggestion_resave", "sheet", "ref")
OUTSIDE_THE_GRID = BAD_FORMAT.says("reason_outside_the_grid", "suggestion_resave", "sheet", "ref")
CELLS_OUTSIDE_THE_GRID = BAD_FORMAT.says("reason_cells_outside_the_grid", "suggestion_resave", "sheet")
UNKNOWN_COMPRESSION = BAD_FORMAT.says("reason_compression", "suggestion_resave", "part")
TOO_MANY_PARTS = BAD_FORMAT.says("reason_parts", "suggestion_resave", "parts")
SHARED_STRINGS = BAD_FORMAT.says("reason_shared_strings", "suggestion_resave", "strings", "size")
NAMED_XLSX = BAD_FORMAT.says("reason_named_xlsx", "suggestion_save_xlsx")
NAMED_PARQUET = BAD_FORMAT.says("reason_named_parquet", "suggestion_export_again")
UNREADABLE_PARQUET = BAD_FORMAT.says("reason_parquet", "suggestion_parquet")
UNPARSED_CSV = BAD_FORMAT.says("reason_csv", "suggestion_csv", "error")
UNREADABLE_EXPORT = BAD_FORMAT.says("reason_export", "suggestion_export", "error")
READER_STOPPED = BAD_FORMAT.says("reason_reader_stopped", "suggestion_reader_stopped", "death")
NO_HEADER = BAD_FORMAT.says("reason_no_header", "suggestion_template")
NO_UNIT_COLUMN = BAD_FORMAT.says("reason_no_unit_column", "suggestion_unit_column")
UNKNOWN_LEVEL = BAD_FORMAT.says("reason_level", "suggestion_level", "value")
NOT_JSON = BAD_FORMAT.says("reason_json", "suggestion_json", "error")
JSON_SHAPE = BAD_FORMAT.says("reason_json_shape", "suggestion_json")
JSON_REPORT = BAD_FORMAT.says("reason_json_report", "suggestion_json_report")
NO_PORTAL_HEADER = BAD_FORMAT.says("reason_no_portal_header", "suggestion_portal_header")

MISSING_COLUMN = Reason("missing_column")
MISSING_DOSSIER_COLUMNS = MISSING_COLUMN.says("reason", "suggestion", "missing", "found", "columns")


def no_unit_column(r: Report) -> None:
    """A report without a column naming each row's unit."""
    if r.cells.unit_column is None:
        r.at_header(NO_UNIT_COLUMN())
