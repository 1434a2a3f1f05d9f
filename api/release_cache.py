"""Snapshots of past catalog releases, for replaying decision records.

A small LRU of its own, apart from the live `CatalogCache`: replaying an old decision never
evicts or replaces the snapshot that live scoring reads. The first replay on a release rebuilds
it from the stored manifest (`db.releases`); later ones are served from memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy.orm import Session, sessionmaker

from db.releases import read_release, snapshot_at
from scoring.model import CatalogSnapshot


class ReleaseCache:
    def __init__(self, session_factory: sessionmaker[Session], *, size: int) -> None:
        self._session_factory = session_factory
        self._size = size
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[int, CatalogSnapshot] = OrderedDict()

    def get(self, version: int) -> CatalogSnapshot:
        """The snapshot of `version`; raises `db.releases.ReleaseNotRecorded` if it has none."""
        with self._lock:
            snapshot = self._snapshots.get(version)
            if snapshot is not None:
                self._snapshots.move_to_end(version)
                return snapshot
        snapshot = read_release(
            self._session_factory, lambda session: snapshot_at(session, version)
        )
        with self._lock:
            self._snapshots[version] = snapshot
            self._snapshots.move_to_end(version)
            while len(self._snapshots) > self._size:
                self._snapshots.popitem(last=False)
        return snapshot

    @property
    def versions(self) -> list[int]:
        with self._lock:
            return list(self._snapshots)
