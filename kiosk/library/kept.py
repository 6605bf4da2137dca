"""Lists kept in memory in their order, changed one item at a time.

`Ordered` is a list sorted by a key, addressed by submission id: moving one item of 10,000 is a
binary search and a list insert, not a sort. `Kept` is one of the library's whole lists (every
submission, everything on screen) over it: it knows which submissions changed since it was last
brought up to date, and tells each reader what changed since that reader last looked (`Since`),
so the playlist, `_status.txt` and the consent keeper work out a decision's one story, not all.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

LOG = 4096  # changes remembered for readers; one further behind reads everything again


class Ordered:
    """Items in `key` order, one per id (`ident`, by default the item's "id"). The key must be
    unique."""

    def __init__(
        self, key: Callable[[Any], tuple], ident: Callable[[Any], int] = itemgetter("id")
    ) -> None:
        self.key = key
        self.ident = ident
        self._keys: list[tuple] = []
        self._items: list[Any] = []
        self._by_id: dict[int, Any] = {}

    def items(self) -> list[Any]:
        return list(self._items)

    def replace(self, items: list[Any]) -> None:
        """Everything anew, in any order."""
        self._items = sorted(items, key=self.key)
        self._keys = [self.key(item) for item in self._items]
        self._by_id = {self.ident(item): item for item in self._items}

    def put(self, sid: int, item: Any | None) -> None:
        """`item` for id `sid` (None: it leaves), moved to where its key puts it."""
        old = self._by_id.pop(sid, None)
        if old is not None:
            at = bisect_left(self._keys, self.key(old))
            del self._keys[at], self._items[at]
        if item is not None:
            key = self.key(item)
            at = bisect_left(self._keys, key)
            self._keys.insert(at, key)
            self._items.insert(at, item)
            self._by_id[sid] = item


@dataclass(frozen=True)
class Since:
    """A whole list as a reader gets it: every item in order, and what changed since the
    reader's last look (id -> the item now, None for one that left), None for "everything"."""

    stamp: int  # give it back next time
    items: list[Any]
    changed: dict[int, Any] | None


class Kept(Ordered):
    """One of the library's whole lists. The library tells it which submissions each commit
    touched (`touch`); the reader that next asks reads those rows again (`take_stale`, `put`)."""

    def __init__(self, key: Callable[[Any], tuple]) -> None:
        super().__init__(key)
        self.reading = threading.Lock()  # one reader at a time brings the list up to date
        self._lock = threading.Lock()
        self._stale: set[int] | None = None  # None: every row
        self._stamp = 0  # moves with every change to the list
        self._whole = 0  # the stamp of the last time everything was read anew
        self._log: dict[int, int] = {}  # id -> stamp of its last change, oldest first

    def touch(self, submissions: tuple[int, ...]) -> None:
        with self._lock:
            if not submissions:
                self._stale = None
            elif self._stale is not None:
                self._stale.update(submissions)

    def take_stale(self) -> set[int] | None:
        """The submissions changed since the last call (None: any may have); take it before
        reading the rows, so a change committed meanwhile is read again next time."""
        with self._lock:
            stale, self._stale = self._stale, set()
        return stale

    def replace(self, items: list[Any]) -> None:
        super().replace(items)
        self._stamp += 1
        self._whole = self._stamp
        self._log.clear()

    def put(self, sid: int, item: Any | None) -> None:
        super().put(sid, item)
        self._stamp += 1
        self._log.pop(sid, None)
        self._log[sid] = self._stamp
        if len(self._log) > LOG:
            self._whole = self._log.pop(next(iter(self._log)))

    def since(self, stamp: int) -> Since:
        """The list, and its changes since `stamp` (a stamp it gave; -1 the first time)."""
        if stamp < self._whole:
            return Since(self._stamp, self.items(), None)
        changed = {}
        for sid, at in reversed(self._log.items()):
            if at <= stamp:
                break
            changed[sid] = self._by_id.get(sid)
        return Since(self._stamp, self.items(), changed)
