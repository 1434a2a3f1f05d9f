"""FastAPI dependencies: settings, sessions, the unit of work, the catalog snapshot and auth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from api.catalog_cache import CatalogCache
from api.errors import Forbidden, Unauthorized
from api.settings import Settings
from db.keys import CATALOG_WRITE, DECISIONS, PERMISSIONS, find_key, roles_with
from db.session import WRITE_OPTIONS
from scoring.model import CatalogSnapshot

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
    """The cached snapshot; only a due version check goes to the database (off the loop)."""
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
    """

    def __init__(self, session: Session, cache: CatalogCache) -> None:
        self._session = session
        self._cache = cache
        self._begun = False

    @property
    def session(self) -> Session:
        if not self._begun:
            self._session.connection(execution_options=WRITE_OPTIONS)
            self._begun = True
        return self._session

    def commit(self) -> None:
        self.session.commit()
        self._cache.invalidate()


def get_unit_of_work(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    cache: CatalogCacheDep,
) -> Iterator[UnitOfWork]:
    with factory() as session:
        yield UnitOfWork(session, cache)


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


def _authenticate(
    request: Request, factory: sessionmaker[Session], presented: str | None
) -> Principal | None:
    if not presented:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer tada_"):
            presented = auth[7:].strip()
    if not presented:
        return None
    with factory() as session:
        row = find_key(session, presented)
        if row is None:
            raise Unauthorized(
                "The API key is not valid or has been revoked.",
                headers={"WWW-Authenticate": 'APIKey header="X-API-Key"'},
            )
        return Principal(name=row.name, role=row.role)


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

    return dependency


async def reader(
    request: Request,
    settings: SettingsDep,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    presented: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Reads are open unless `TADA_READ_REQUIRES_KEY` is set; a key, if sent, must be valid."""
    principal = None
    if presented or request.headers.get("authorization"):
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
    principal = None
    if presented or request.headers.get("authorization"):
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
