"""Files that readers see whole or not at all: the old content or the new, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(
    path: Path, data: bytes | str, *, exclusive: bool = False, mode: int = 0o644
) -> None:
    """Write `data` (text as UTF-8) to `path` through a temp file, then give it the name.

    The temp file sits in the same folder, so the rename is atomic, and its name starts with a
    dot, so the watcher and the people on the share pass it by. It is on disk before it gets
    its name: the Pi loses power, and ext4 may otherwise write the name before the data.
    `mode` defaults to readable by all (mkstemp's 0600 would hide a file on the share).
    `exclusive` raises FileExistsError instead of replacing a file that is already there.
    """
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        if exclusive:
            os.link(tmp, path)  # unlike a rename, a link never takes an existing name
        else:
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)  # gone already after a replace
