"""The in-memory catalog snapshot the engine reads, and the background task that keeps it fresh.

Scoring never waits on the database. A background task polls the catalog version every
`refresh_seconds`; when it moved (a write in this process or any other replica), it loads the
new snapshot beside the current one and swaps it in when it is complete. Requests keep reading
the current snapshot meanwhile. Reloads are coalesced: a local write wakes the task early, but
it reloads at most once per interval, so a burst of curator writes costs one reload, not one
per write. If the database hangs, the task waits (bounded by the database timeouts) while the
last snapshot keeps being served.

`refresh_seconds = 0` is the strict mode the tests use: no task; every request checks the
version on the database first (read-your-writes everywhere, at the cost of a query per request).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ServiceUnavailable
from db.snapshot import load_snapshot
from db.versioning import current_version
from scoring.model import CatalogSnapshot

log = logging.getLogger("tada.catalog")


class CatalogCache:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_swap: Callable[[CatalogSnapshot], None] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._on_swap = on_swap
        self._lock = threading.Lock()
        self._snapshot: CatalogSnapshot | None = None
        self._checked_at = float("-inf")
        self._reloaded_at = float("-inf")
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_error: str | None = None
        self.reloads = 0

    @property
    def background(self) -> bool:
        """True when a background task refreshes the snapshot (refresh_seconds > 0)."""
        return self._refresh_seconds > 0

    @property
    def current(self) -> CatalogSnapshot | None:
        """The snapshot being served, without any database work (None before the first load)."""
        return self._snapshot

    @property
    def loaded_version(self) -> int | None:
        return self._snapshot.version if self._snapshot else None

    def fresh(self) -> CatalogSnapshot | None:
        """The snapshot if it can be served without a database round trip, else None."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if self.background or self._clock() - self._checked_at < self._refresh_seconds:
            return snapshot
        return None

    def get(self) -> CatalogSnapshot:
        """The snapshot, loading it first if none is loaded (or, in strict mode, if stale).

        Blocking: call it from a worker thread. Raises `ServiceUnavailable` if no catalog can
        be loaded (empty catalog); database errors propagate (answered as 503).
        """
        snapshot = self.fresh()
        if snapshot is not None:
            return snapshot
        self.refresh()
        if self._snapshot is None:  # pragma: no cover - refresh either loads or raises
            raise ServiceUnavailable("The catalog is not loaded yet.")
        return self._snapshot

    def refresh(self) -> bool:
        """Check the version on the database; load and swap in a new snapshot if it moved.

        Returns True when a new snapshot was swapped in. Serialised: concurrent callers wait
        for one check instead of each making their own.
        """
        with self._lock:
            try:
                with self._session_factory() as session:
                    version = current_version(session)
                swapped = False
                if self._snapshot is None or self._snapshot.version != version:
                    # A fresh session: the snapshot is read in its own consistent transaction.
                    with self._session_factory() as session:
                        try:
                            snapshot = load_snapshot(session)
                        except LookupError as exc:  # migrated but never loaded
                            raise ServiceUnavailable(
                                f"{exc}: `tada catalog load FILE`, or restart with "
                                "TADA_SEED_ON_EMPTY=true to load the seed catalog."
                            ) from exc
                    if self._on_swap is not None:
                        try:
                            self._on_swap(snapshot)
                        except Exception as exc:  # derived data loads on first use instead
                            log.warning("after loading catalog %s: %s", snapshot.version, exc)
                    self._snapshot = snapshot  # one assignment: readers see old or new
                    self._reloaded_at = self._clock()
                    self.reloads += 1
                    swapped = True
                self._checked_at = self._clock()
                self.last_error = None
                return swapped
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}"
                raise

    def invalidate(self) -> None:
        """A write in this process committed: refresh soon (strict mode: on the next request).

        Safe to call from any thread; never waits.
        """
        self._checked_at = float("-inf")
        if self._wake is not None and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop closed (shutting down): nothing left to refresh
                pass

    async def run(self) -> None:
        """The background refresh loop (run as a task by the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._refresh_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            # Coalesce: at most one reload per interval, however many writes woke us.
            wait = self._refresh_seconds - (self._clock() - self._reloaded_at)
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await anyio.to_thread.run_sync(self.refresh)
            except ServiceUnavailable as exc:
                log.warning("catalog refresh: %s", exc.detail)
            except Exception as exc:  # the database is down or hung: keep serving, retry
                log.warning("catalog refresh failed (%s); serving the loaded snapshot", exc)
