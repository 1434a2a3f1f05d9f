"""The application factory. The engine is made in `lifespan`, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.catalog_cache import CatalogCache
from api.deps import VerifiedKeys
from api.docs import install_docs
from api.errors import install_error_handlers
from api.fhir.codes import app_code_cache
from api.fhir.intake import set_verdict_cache_size
from api.middleware import (
    BodyLimitMiddleware,
    CorsMiddleware,
    RejectNulMiddleware,
    RequestLogMiddleware,
)
from api.openapi import install_openapi
from api.readiness import DatabaseProbe
from api.release_cache import ReleaseCache
from api.routers import (
    bench,
    catalog,
    clinic,
    curation,
    decisions,
    health,
    preferences,
    score,
    sdm,
)
from api.routers import cds as cds_hooks
from api.routers import fhir as fhir_intake
from api.sdm.texts import CatalogTexts
from api.settings import Settings, get_settings
from api.warmup import warm_up
from db.migrations import head_revision
from db.session import make_engine, make_session_factory

log = logging.getLogger("tada.app")

DESCRIPTION = """
TADA keeps a curated, cited catalog of therapies (IVIG, SCIG, plasma exchange, HSCT,
monoclonal antibodies and the other reasonable options for the same conditions) and orders
them for one patient by that patient's clinical constraints and stated priorities.

**TADA is a decision aid, not a prescriber.** It explains options and orders them by the
priorities the patient states; it does not tell anyone which option to choose. Every figure
names its source, every exclusion gives its reason, and every result names the catalog
version it came from. Clinical decisions rest with the patient and their clinician.

Errors are `application/problem+json` (RFC 9457).
"""


async def _recheck_keys(app: FastAPI) -> None:
    """Re-check cached API keys every interval, so a revocation lands within one interval."""
    keys: VerifiedKeys = app.state.verified_keys
    while True:
        await asyncio.sleep(keys.ttl)
        try:
            await anyio.to_thread.run_sync(keys.revalidate, app.state.session_factory)
        except Exception as exc:  # the database is down: keys verified before keep working
            log.warning("API key re-check failed (%s)", type(exc).__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, timeouts=settings.timeouts)
        factory = make_session_factory(engine)
        app.state.engine = engine
        app.state.session_factory = factory

        def load_code_lists(snapshot: object) -> None:
            # The FHIR code lists follow the snapshot, loaded off the request path as well.
            version = getattr(snapshot, "version", None)
            if version is not None and getattr(app.state, "fhir_code_cache", None) is not None:
                app_code_cache(app).get(version)

        cache = CatalogCache(
            factory, refresh_seconds=settings.catalog_refresh_seconds, on_swap=load_code_lists
        )
        app.state.catalog_cache = cache
        app.state.verified_keys = VerifiedKeys(ttl=settings.catalog_refresh_seconds)
        app.state.database_probe = DatabaseProbe(
            engine, head=head_revision(), timeout=settings.readiness_timeout_seconds
        )
        app.state.release_cache = ReleaseCache(factory, size=settings.release_cache_size)
        app.state.catalog_texts = CatalogTexts(factory)
        if settings.warm_up:
            warm_up(app)
        tasks: list[asyncio.Task[None]] = []
        if cache.background:
            tasks.append(asyncio.create_task(cache.run(), name="tada-catalog-refresh"))
            tasks.append(asyncio.create_task(_recheck_keys(app), name="tada-key-recheck"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            engine.dispose()

    app = FastAPI(
        title="TADA — Treatment-Alternatives Decision Aid",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    set_verdict_cache_size(settings.fhir_validation_cache_size)
    app.state.clinic_pages = clinic.ClinicPageCache()
    logging.getLogger("tada").setLevel(settings.log_level.upper())
    install_error_handlers(app)
    install_docs(app)
    install_openapi(app)
    # The hot routes first: a request is matched against the routes in order, and walking the
    # 40 catalog and curation routes before /v1/score was a quarter of a score request's time
    # (bench/profile_score.py); before the CDS services, matching took a third of a 26-resource
    # patient-view's time (bench/ehr.py). No other route matches a /v1/score or /cds-services
    # path, so the order changes no answer.
    app.include_router(score.router)
    app.include_router(cds_hooks.router)
    app.include_router(health.router)
    app.include_router(catalog.router)
    app.include_router(curation.router)
    app.include_router(decisions.router)
    app.include_router(sdm.router)
    app.include_router(preferences.router)
    app.include_router(clinic.router)
    app.mount("/clinic/static", StaticFiles(directory=clinic.STATIC_DIR), name="clinic-static")
    app.include_router(fhir_intake.router)
    if settings.bench_endpoints:
        app.include_router(bench.router)
    batch_limit = max(settings.max_body_bytes, settings.batch_max_cases * 2_000)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        overrides={"/v1/score/batch": batch_limit},
        prefixes={
            "/v1/fhir/": settings.fhir_max_body_bytes,
            "/cds-services/": settings.fhir_max_body_bytes,
        },
    )
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(RequestLogMiddleware)
    # Outermost, so every answer carries the CORS headers: a 413 or 400 from the middleware
    # above, a 401/412/422 problem, a 500. Without them a browser client (the CDS Hooks
    # sandbox) sees a CORS error instead of the status.
    app.add_middleware(
        CorsMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "If-Match"],
        expose_headers=["ETag", "X-Request-ID"],
    )
    return app
