"""The in-memory catalog snapshot the engine reads, keyed by catalog version.

Scoring must not wait on the database: requests read the cached snapshot. A curator write in
this process refreshes it at once (`invalidate`); writes made by other processes of the same
deployment are noticed by a cheap version check at most every `refresh_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from api.errors import ServiceUnavailable
from db.snapshot import load_snapshot
from db.versioning import current_version
from scoring.model import CatalogSnapshot


class CatalogCache:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: CatalogSnapshot | None = None
        self._checked_at = float("-inf")

    def fresh(self) -> CatalogSnapshot | None:
        """The snapshot if no version check is due, else None (then call `get`)."""
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - self._checked_at < self._refresh_seconds:
            return snapshot
        return None

    def get(self) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - self._checked_at < self._refresh_seconds:
            return snapshot
        with self._lock:
            if (
                self._snapshot is not None
                and self._clock() - self._checked_at < self._refresh_seconds
            ):
                return self._snapshot
            with self._session_factory() as session:
                version = current_version(session)
            if self._snapshot is None or self._snapshot.version != version:
                # A fresh session: the snapshot is read in its own consistent transaction.
                with self._session_factory() as session:
                    try:
                        self._snapshot = load_snapshot(session)
                    except LookupError as exc:  # migrated but never loaded
                        raise ServiceUnavailable(
                            f"{exc}: `tada catalog load FILE`, or restart with "
                            "TADA_SEED_ON_EMPTY=true to load the seed catalog."
                        ) from exc
            self._checked_at = self._clock()
            return self._snapshot

    def invalidate(self) -> None:
        with self._lock:
            self._checked_at = float("-inf")

    @property
    def loaded_version(self) -> int | None:
        return self._snapshot.version if self._snapshot else None
