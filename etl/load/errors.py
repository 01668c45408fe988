"""The two ways a load stops early (no pandas here: the sandbox's parent imports this light)."""

from __future__ import annotations

from etl.load.rules import Said


class FileRejected(Exception):
    """The whole file is unusable (encoding, size, no header, empty...): what is said about it
    (:class:`etl.load.rules.Said`; ``message`` and ``suggestion`` are its English words) and
    where, when one place is at fault."""

    def __init__(self, said: Said, *, row: int | None = None, column: str | None = None, value: str | None = None):
        message, suggestion = said.text("en")
        super().__init__(message)
        self.said = said
        self.code = said.code
        self.message = message
        self.suggestion = suggestion
        self.row = row
        self.column = column
        self.value = value

    def __reduce__(self):  # keyword-only fields survive pickling (the sandbox returns them)
        return _rebuild_rejected, (self.said, self.row, self.column, self.value)


def _rebuild_rejected(said, row, column, value) -> FileRejected:
    return FileRejected(said, row=row, column=column, value=value)


class UsageError(ValueError):
    """The request itself is wrong (missing option, bad choice); ``choices`` lists valid ones."""

    def __init__(self, message: str, choices: list[str] | None = None):
        super().__init__(message)
        self.choices = list(choices or [])

    def __reduce__(self):
        return UsageError, (str(self), self.choices)
