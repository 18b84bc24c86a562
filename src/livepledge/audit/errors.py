"""Errors of the audit domain: bad input is reported as a message, never as a traceback."""

from __future__ import annotations


class AuditInputError(Exception):
    """The input (file, columns, values or options) cannot be audited as given.

    The message is bilingual (Chinese first, then English) and is shown to the user as is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
