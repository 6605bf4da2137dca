"""The one base of the errors a person reads: each class says how it answers, once.

A route or command raises the domain's own error with a sentence the reader can act on; the
exception handler in `create_app` turns it into `{"detail": sentence}` with the class's `status`,
and `kiosk`'s `main()` prints it as one line and exits with the class's `exit_code`. Nothing in
between translates it again.
"""

from __future__ import annotations


class KioskError(Exception):
    """An error whose message is meant for the person who caused it."""

    status: int = 500  # the HTTP status when a request raised it
    exit_code: int = 2  # the exit status when a command raised it (1 means "problems found")

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer needs besides the status (a challenge, a wait)."""
        return {}
