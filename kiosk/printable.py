"""A value from outside (a user name, a file name, a story field) as it may appear in a log line
or in `_status.txt`: on one line, with control characters escaped, and cut short.

A newline in a story's name must not start a line of its own: in the journal it would read as
another log message, in `_status.txt` as another story or section.
"""

from __future__ import annotations

import logging

LIMIT = 200  # characters; the rest is counted, not shown


def printable(value: object, limit: int = LIMIT) -> str:
    """`value` as text on one line: control and line-separator characters escaped the way
    Python writes them (`\\n`, `\\x1b`, `\\u2028`), anything past `limit` characters cut off."""
    text = str(value)
    # isprintable is False for controls, format characters and every separator but the space.
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + (f"…(+{len(text) - limit} characters)" if len(text) > limit else "")


class PrintableArgs(logging.Filter):
    """Every string argument of a log record shown with `printable`: put on the handler, it
    covers every module's log lines, including those of uvicorn and the watcher."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in record.args)
        return True
