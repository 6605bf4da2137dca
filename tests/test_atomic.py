"""write_atomically: whole files with the mode asked for, and `exclusive` never overwrites."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kiosk.atomic import write_atomically


def test_replaces_whole_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "_status.txt"
    target.write_text("old")
    write_atomically(target, "new ✓\r\n")
    assert target.read_bytes() == "new ✓\r\n".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["_status.txt"]


def test_exclusive_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "secret.key"
    write_atomically(target, b"first", exclusive=True, mode=0o600)
    with pytest.raises(FileExistsError):
        write_atomically(target, b"second", exclusive=True, mode=0o600)
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
