"""FastAPI dependencies: settings, sessions, the unit of work, the catalog snapshot and auth."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from api.catalog_cache import CatalogCache
from api.errors import Forbidden, Unauthorized
from api.settings import Settings
from db.keys import CATALOG_WRITE, DECISIONS, PERMISSIONS, active_key_ids, find_key, roles_with
from db.releases import deferred_version, settle_releases
from db.versioning import DEFER_RELEASE, begin_write
from scoring.model import CatalogSnapshot

log = logging.getLogger("tada.auth")
log_releases = logging.getLogger("tada.releases")

# The light dependencies are `async def`: FastAPI runs a sync dependency in the thread pool,
# and a thread hop per dependency costs more than the scoring itself on the hot path.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_session(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    with factory() as session:
        yield session


async def get_catalog_cache(request: Request) -> CatalogCache:
    cache: CatalogCache = request.app.state.catalog_cache
    return cache


async def get_snapshot(
    cache: Annotated[CatalogCache, Depends(get_catalog_cache)],
) -> CatalogSnapshot:
    """The served snapshot; the database is read (off the loop) only before the first load,
    or on every request in strict mode (`catalog_refresh_seconds = 0`)."""
    snapshot = cache.fresh()
    if snapshot is None:
        snapshot = await run_in_threadpool(cache.get)
    return snapshot


# A database row id in a path: 1 .. 2^63-1, so an absurd id is a 422, not a driver overflow.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
CatalogCacheDep = Annotated[CatalogCache, Depends(get_catalog_cache)]
SnapshotDep = Annotated[CatalogSnapshot, Depends(get_snapshot)]


class UnitOfWork:
    """A write transaction. Services only `flush()`; the route calls `commit()` once, before it
    answers, so the client never hears "done" for a write that later fails. An exception
    before `commit()` rolls everything back when the session closes.

    The transaction (a pooled connection and, on SQLite, the write lock) starts on the first
    use of `session`, inside the route: never while other dependencies still run. Holding it
    while the API-key check took a second connection let a burst of writes, even unkeyed
    ones, exhaust the pool and wait on each other until the pool timeout.

    A catalog change records its release after the response (0015): the write stores which
    entities it changed, and a background task records their content once the client has its
    answer. Until then the next writer, or a reader of that release, records it first.
    """

    def __init__(
        self,
        session: Session,
        cache: CatalogCache,
        factory: sessionmaker[Session],
        background: BackgroundTasks,
    ) -> None:
        self._session = session
        self._cache = cache
        self._factory = factory
        self._background = background
        self._begun = False

    @property
    def session(self) -> Session:
        if not self._begun:
            self._session.info[DEFER_RELEASE] = True
            begin_write(self._session)
            self._begun = True
        return self._session

    def commit(self) -> None:
        deferred = deferred_version(self.session)
        self.session.commit()
        self._cache.invalidate()
        if deferred is not None:
            self._background.add_task(_record_deferred_release, self._factory, deferred)


def _record_deferred_release(factory: sessionmaker[Session], version: int) -> None:
    """After the response: record the release a write deferred. A failure loses nothing (the
    entities it changed stay in its version row, and the next writer records them)."""
    try:
        settle_releases(factory)
    except Exception:
        log_releases.warning(
            "catalog version %s: recording its release failed; the next write records it",
            version,
            exc_info=True,
        )


def get_unit_of_work(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    cache: CatalogCacheDep,
    background: BackgroundTasks,
) -> Iterator[UnitOfWork]:
    with factory() as session:
        yield UnitOfWork(session, cache, factory, background)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]

# ---------------------------------------------------------------------------------------------
# API keys and roles
# ---------------------------------------------------------------------------------------------

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A TADA API key (`tada keys create --role curator`).",
)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


ANONYMOUS = Principal(name="anonymous", role="anonymous")


@dataclass
class _Verified:
    key_id: int
    principal: Principal
    verified_at: float


class VerifiedKeys:
    """API keys verified in the last `ttl` seconds, so a keyed request needs no database.

    The app's background task re-checks every cached key in one query each interval
    (`revalidate`), so a revoked key stops working within one interval and a key in steady use
    never waits on the database. While that check fails (the database is down), keys verified
    before the outage keep working: no revocation can be recorded in a database that does not
    answer. `ttl = 0` (strict mode) caches nothing. Entries are keyed by the key's SHA-256.
    """

    MAX_ENTRIES = 4096

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, _Verified] = {}
        self.database_failing = False

    @staticmethod
    def _digest(presented: str) -> str:
        return hashlib.sha256(presented.encode()).hexdigest()

    def lookup(self, presented: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(self._digest(presented))
        if entry is None:
            return None
        if self.database_failing or time.monotonic() - entry.verified_at < self.ttl:
            return entry.principal
        return None

    def last_known(self, presented: str) -> Principal | None:
        """The principal verified before, however long ago (for when the database fails)."""
        entry = self._entries.get(self._digest(presented)) if self.ttl > 0 else None
        return entry.principal if entry else None

    def store(self, presented: str, *, key_id: int, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[self._digest(presented)] = _Verified(key_id, principal, time.monotonic())

    def revalidate(self, factory: sessionmaker[Session]) -> None:
        """Drop revoked keys and mark the others verified now (one query; blocking)."""
        with self._lock:
            ids = {entry.key_id for entry in self._entries.values()}
        if not ids:
            return
        try:
            with factory() as session:
                active = active_key_ids(session, ids)
        except Exception:
            self.database_failing = True
            raise
        self.database_failing = False
        now = time.monotonic()
        with self._lock:
            for digest, entry in list(self._entries.items()):
                if entry.key_id in active:
                    entry.verified_at = now
                else:
                    del self._entries[digest]


def _authenticate(
    request: Request, factory: sessionmaker[Session], presented: str | None
) -> Principal | None:
    if not presented:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer tada_"):
            presented = auth[7:].strip()
    if not presented:
        return None
    keys: VerifiedKeys | None = getattr(request.app.state, "verified_keys", None)
    if keys is not None:
        cached = keys.lookup(presented)
        if cached is not None:
            return cached
    try:
        with factory() as session:
            row = find_key(session, presented)
    except (OperationalError, PoolTimeoutError):
        known = keys.last_known(presented) if keys is not None else None
        if known is None:
            raise
        log.warning("database unavailable; using the earlier verification of this key")
        return known
    if row is None:
        raise Unauthorized(
            "The API key is not valid or has been revoked.",
            headers={"WWW-Authenticate": 'APIKey header="X-API-Key"'},
        )
    principal = Principal(name=row.name, role=row.role)
    if keys is not None:
        keys.store(presented, key_id=row.id, principal=principal)
    return principal


def _cached_principal(request: Request, presented: str | None) -> Principal | None:
    """The principal for a recently verified key, without a thread hop (the hot path)."""
    keys: VerifiedKeys | None = getattr(request.app.state, "verified_keys", None)
    if keys is None or not presented:
        return None
    return keys.lookup(presented)


def require_permission(permission: str) -> object:
    """A dependency that admits a valid key whose role grants `permission` (401/403 otherwise)."""
    roles = roles_with(permission)
    wanted = " or ".join(f"'{r}'" for r in roles)

    def dependency(
        request: Request,
        factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
        presented: Annotated[str | None, Depends(api_key_header)],
    ) -> Principal:
        principal = _authenticate(request, factory, presented)
        if principal is None:
            raise Unauthorized(
                f"This needs an API key with the {wanted} role in the X-API-Key header.",
                headers={"WWW-Authenticate": 'APIKey header="X-API-Key"'},
            )
        if permission not in PERMISSIONS.get(principal.role, frozenset()):
            raise Forbidden(
                f"This needs the {wanted} role; your key has the '{principal.role}' role."
            )
        return principal

    dependency.tada_role = permission  # type: ignore[attr-defined]  # read by api/openapi.py
    return dependency


async def reader(
    request: Request,
    settings: SettingsDep,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    presented: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Reads are open unless `TADA_READ_REQUIRES_KEY` is set; a key, if sent, must be valid."""
    principal = _cached_principal(request, presented)
    if principal is None and (presented or request.headers.get("authorization")):
        principal = await run_in_threadpool(_authenticate, request, factory, presented)
    if principal is None:
        if settings.read_requires_key:
            raise Unauthorized(
                "Reading needs an API key in the X-API-Key header on this deployment.",
                headers={"WWW-Authenticate": 'APIKey header="X-API-Key"'},
            )
        return ANONYMOUS
    return principal


ReaderDep = Annotated[Principal, Depends(reader)]
CuratorDep = Annotated[Principal, Depends(require_permission(CATALOG_WRITE))]
ClinicianDep = Annotated[Principal, Depends(require_permission(DECISIONS))]


@dataclass(frozen=True)
class ScoringContext:
    snapshot: CatalogSnapshot
    principal: Principal


async def scoring_context(request: Request) -> ScoringContext:
    """The snapshot and the reader, resolved in one step for the scoring hot path.

    The same checks as `SnapshotDep` + `ReaderDep`, without their dependency graph: FastAPI's
    resolution of seven small dependencies cost more than the scoring itself (see bench/).
    """
    state = request.app.state
    settings: Settings = state.settings
    presented = request.headers.get("x-api-key")
    principal = _cached_principal(request, presented)
    if principal is None and (presented or request.headers.get("authorization")):
        principal = await run_in_threadpool(
            _authenticate, request, state.session_factory, presented
        )
    if principal is None:
        if settings.read_requires_key:
            raise Unauthorized(
                "Reading needs an API key in the X-API-Key header on this deployment.",
                headers={"WWW-Authenticate": 'APIKey header="X-API-Key"'},
            )
        principal = ANONYMOUS
    cache: CatalogCache = state.catalog_cache
    snapshot = cache.fresh()
    if snapshot is None:
        snapshot = await run_in_threadpool(cache.get)
    return ScoringContext(snapshot=snapshot, principal=principal)


ScoringContextDep = Annotated[ScoringContext, Depends(scoring_context)]
