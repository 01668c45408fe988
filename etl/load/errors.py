"""The two ways a load stops early (no pandas here: the sandbox's parent imports this light)."""

from __future__ import annotations


class FileRejected(Exception):
    """The whole file is unusable (encoding, size, no header, empty...)."""

    def __init__(self, code: str, message: str, suggestion: str = "", *, row: int | None = None,
                 column: str | None = None, value: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.suggestion = suggestion
        self.row = row
        self.column = column
        self.value = value

    def __reduce__(self):  # keyword-only fields survive pickling (the sandbox returns them)
        return _rebuild_rejected, (self.code, self.message, self.suggestion, self.row, self.column, self.value)


def _rebuild_rejected(code, message, suggestion, row, column, value) -> FileRejected:
    return FileRejected(code, message, suggestion, row=row, column=column, value=value)


class UsageError(ValueError):
    """The request itself is wrong (missing option, bad choice); ``choices`` lists valid ones."""

    def __init__(self, message: str, choices: list[str] | None = None):
        super().__init__(message)
        self.choices = list(choices or [])

    def __reduce__(self):
        return UsageError, (str(self), self.choices)
