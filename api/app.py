"""The application factory. The engine is made in `lifespan`, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api.catalog_cache import CatalogCache
from api.errors import install_error_handlers
from api.middleware import BodyLimitMiddleware, RejectNulMiddleware, RequestLogMiddleware
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
from db.session import make_engine, make_session_factory

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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        factory = make_session_factory(engine)
        app.state.engine = engine
        app.state.session_factory = factory
        app.state.catalog_cache = CatalogCache(
            factory, refresh_seconds=settings.catalog_refresh_seconds
        )
        app.state.release_cache = ReleaseCache(factory, size=settings.release_cache_size)
        app.state.catalog_texts = CatalogTexts(factory)
        if settings.warm_up:
            warm_up(app)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="TADA — Treatment-Alternatives Decision Aid",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clinic_pages = clinic.ClinicPageCache()
    logging.getLogger("tada").setLevel(settings.log_level.upper())
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(catalog.router)
    app.include_router(curation.router)
    app.include_router(score.router)
    app.include_router(decisions.router)
    app.include_router(sdm.router)
    app.include_router(preferences.router)
    app.include_router(clinic.router)
    app.mount("/clinic/static", StaticFiles(directory=clinic.STATIC_DIR), name="clinic-static")
    app.include_router(fhir_intake.router)
    app.include_router(cds_hooks.router)
    if settings.bench_endpoints:
        app.include_router(bench.router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "If-Match"],
        expose_headers=["ETag", "X-Request-ID"],
    )
    batch_limit = max(settings.max_body_bytes, settings.batch_max_cases * 2_000)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        overrides={"/v1/score/batch": batch_limit},
    )
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(RequestLogMiddleware)
    return app
