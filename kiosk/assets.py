"""The version of the code that pages load: a screen or an open admin page reloads when it moves."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from . import __version__

PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the player's code (static files, page templates): screens reload when it moves."""
    h = hashlib.sha256(__version__.encode())
    for root in (PACKAGE / "static", PACKAGE / "templates"):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
