"""The catalog records the grid and summary quote, exactly as they were at a result's version.

The engine's snapshot holds what scoring needs, not the catalog's wording (how a therapy is
given, its summary, its side effects by name). Those come from the release of the result's
catalog version (`db.releases.entities_at`), read once per version and kept in memory, so a
grid or summary never mixes one version's order with another version's words, and steady-state
requests do not touch the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.errors import ServiceUnavailable
from db.models import CatalogVersion
from db.releases import (
    CONDITION,
    INDICATION,
    THERAPY,
    EntityKey,
    ReleaseNotRecorded,
    entities_at,
    entities_now,
    indication_key,
    read_release,
)
from db.versioning import current_version


class CatalogTexts:
    """Catalog-file entries by version; the latest few versions are kept."""

    def __init__(self, session_factory: sessionmaker[Session], *, versions: int = 3) -> None:
        self._session_factory = session_factory
        self._versions = versions
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, dict[EntityKey, Any]] = OrderedDict()
        self._dates: dict[int, datetime] = {}

    def holds(self, version: int, *, condition_id: str, therapy_ids: list[str]) -> bool:
        """True when `entries` would answer from memory, without the database."""
        wanted = self._wanted(condition_id, therapy_ids)
        with self._lock:
            known = self._entries.get(version)
            return known is not None and all(key in known for key in wanted)

    @staticmethod
    def _wanted(condition_id: str, therapy_ids: list[str]) -> set[EntityKey]:
        wanted: set[EntityKey] = {(CONDITION, condition_id)}
        wanted |= {(THERAPY, t) for t in therapy_ids}
        wanted |= {(INDICATION, indication_key(t, condition_id)) for t in therapy_ids}
        return wanted

    def entries(
        self, version: int, *, condition_id: str, therapy_ids: list[str]
    ) -> dict[EntityKey, Any]:
        wanted = self._wanted(condition_id, therapy_ids)
        with self._lock:
            known = self._entries.get(version, {})
            missing = {key for key in wanted if key not in known}
        if missing:
            loaded, created = read_release(
                self._session_factory, lambda session: self._read(session, version, missing)
            )
            with self._lock:
                cached = self._entries.setdefault(version, {})
                cached.update(loaded)
                for key in missing - set(loaded):
                    cached[key] = None  # absent at that version: remembered, not re-read
                if created is not None:
                    self._dates[version] = created
                self._entries.move_to_end(version)
                while len(self._entries) > self._versions:
                    old, _ = self._entries.popitem(last=False)
                    self._dates.pop(old, None)
                known = cached
        return {key: known.get(key) for key in wanted}

    @classmethod
    def _read(
        cls, session: Session, version: int, keys: set[EntityKey]
    ) -> tuple[dict[EntityKey, Any], datetime | None]:
        loaded = cls._load(session, version, keys)
        row = session.get(CatalogVersion, version)
        return loaded, row.created_at if row is not None else None

    @staticmethod
    def _load(session: Session, version: int, keys: set[EntityKey]) -> dict[EntityKey, Any]:
        try:
            return entities_at(session, version, keys)
        except ReleaseNotRecorded:
            # A database migrated with its catalog and served without `tada serve` (which
            # records the first release): the current rows are that version's if it is current.
            if current_version(session) != version:
                raise ServiceUnavailable(
                    f"The catalog's wording for version {version} is not available; "
                    "run `tada serve` once to record the catalog's release."
                ) from None
            return entities_now(session, keys)

    def date(self, version: int) -> datetime | None:
        with self._lock:
            return self._dates.get(version)
