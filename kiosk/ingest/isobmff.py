"""The ISOBMFF boxes of an AVIF or HEIF file, read without a decoder: the picture size the file
declares, and the clean aperture (`clap`) a phone writes to crop without re-encoding.

Only what images.py needs; every offset is checked against the data, and a box that does not fit
ends the walk (the caller then shows the whole picture, or asks the decoder).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import cast


def declared_size(data: bytes) -> tuple[int, int] | None:
    """The largest picture an AVIF/HEIF (ISOBMFF) file declares in its `ispe` properties,
    read from the container without any decoder."""
    found = None
    for kind, start, end in _properties(data):
        if kind == b"ispe" and end - start >= 12:
            size = cast(tuple[int, int], struct.unpack_from(">II", data, start + 4))
            if found is None or size[0] * size[1] > found[0] * found[1]:
                found = size
    return found


def primary_clap(data: bytes) -> tuple[int, ...] | None:
    """The `clap` values associated with the primary item (`pitm`), if it has one."""
    meta = _meta(data)
    if b"pitm" not in meta or b"iprp" not in meta:
        return None
    at = meta[b"pitm"][0]
    primary = struct.unpack_from(">H" if data[at] == 0 else ">I", data, at + 4)[0]
    iprp = {kind: (s, e) for kind, s, e in _boxes(data, *meta[b"iprp"])}
    properties = list(_boxes(data, *iprp[b"ipco"]))
    at = iprp[b"ipma"][0]
    version, wide_index = data[at], data[at + 3] & 1
    (entries,) = struct.unpack_from(">I", data, at + 4)
    at += 8
    for _ in range(entries):
        item = struct.unpack_from(">H" if version < 1 else ">I", data, at)[0]
        at += 2 if version < 1 else 4
        count = data[at]
        at += 1
        for _ in range(count):
            if wide_index:
                index = struct.unpack_from(">H", data, at)[0] & 0x7FFF
            else:
                index = data[at] & 0x7F
            at += 1 + wide_index
            kind, start, end = properties[index - 1] if index else (b"", 0, 0)
            if item == primary and kind == b"clap" and end - start >= 32:
                return struct.unpack_from(">IIIIiIiI", data, start)
    return None


def _properties(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """The boxes in meta/iprp/ipco: the item properties of an AVIF or HEIF."""
    iprp = _meta(data).get(b"iprp")
    if iprp is None:
        return
    for kind, start, end in _boxes(data, *iprp):
        if kind == b"ipco":
            yield from _boxes(data, start, end)


def _meta(data: bytes) -> dict[bytes, tuple[int, int]]:
    """The boxes in the top-level `meta` box by type: (payload start, end); {} if none."""
    if data[4:8] != b"ftyp":
        return {}
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"meta":  # a full box: version and flags come before its boxes
            return {k: (s, e) for k, s, e in _boxes(data, start + 4, end)}
    return {}


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each ISOBMFF box in data[start:end]."""
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1 and start + 16 <= end:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            return
        yield kind, start + header, start + size
        start += size
