"""One validated settings object; it refuses combinations that would be unsafe in production."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from db.session import DatabaseTimeouts

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

DEVELOPMENT_REF_KEY = b"tada-development-only-decision-ref-key"


class Settings(BaseSettings):
    """Read from the environment (prefix `TADA_`) and an optional `.env` file."""

    model_config = SettingsConfigDict(env_prefix="TADA_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///tada.db"
    seed_on_empty: bool = True
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # FHIR and CDS Hooks bodies carry whole patient records (a Synthea patient is 1-1.2 MB).
    fhir_max_body_bytes: int = Field(default=10_000_000, ge=1024)
    # Validation verdicts kept by a digest of the resource's exact JSON (0: off).
    fhir_validation_cache_size: int = Field(default=20_000, ge=0)
    read_requires_key: bool = False
    # How often a process checks for catalog changes (and re-checks cached API keys); 0 is
    # strict mode (a database check on every request), for tests only.
    catalog_refresh_seconds: float = Field(default=2.0, ge=0, le=3600)
    batch_max_cases: int = Field(default=10_000, ge=1)
    log_level: LogLevel = "INFO"
    # Every wait on the database is bounded (db/session.py says how).
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    db_statement_timeout_seconds: float = Field(default=15.0, gt=0, le=3600)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    db_pool_size: int = Field(default=5, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    # `/readyz` waits at most this long for its database check before answering.
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    workers: int = Field(default=1, ge=1, le=64)
    # `tada serve` retries an unreachable database for this long before giving up (a container
    # that starts before its database; 0: fail at once).
    startup_retry_seconds: float = Field(default=0.0, ge=0, le=3600)
    public_base_url: str = "http://127.0.0.1:8000"
    bench_endpoints: bool = False
    # Load the catalog and FHIR models at start-up and gc.freeze() them (see api/warmup.py).
    warm_up: bool = True

    # CDS Hooks (see README "EHR integration")
    cds_jwt_disabled: bool = False
    cds_audience: str | None = None
    cds_trusted_issuers: dict[str, str] = Field(default_factory=dict)
    cds_jku_allowlist: list[str] = Field(default_factory=list)
    cds_fhir_timeout_seconds: float = Field(default=3.0, gt=0)
    # Following prefetch `next` links and fetching missing keys, for the whole call: inside
    # the spec's "on the order of 500 ms" (see docs/ehr-integration.md).
    cds_fetch_budget_seconds: float = Field(default=0.4, gt=0, le=30)
    cds_fetch_max_pages: int = Field(default=10, ge=1, le=1000)
    cds_fetch_max_resources: int = Field(default=5000, ge=1)
    # `aud` an EHR puts in its tokens, per issuer, when it was configured by hand: the
    # service URL is this base followed by `/{service-id}`.
    cds_audience_by_issuer: dict[str, str] = Field(default_factory=dict)
    # Browser origins allowed to call the API (CDS Hooks sandboxes, the clinic tool on another
    # host). Development default `*`; production default none, and `*` is refused there.
    cors_origins: list[str] | None = None
    sdm_link_url: str | None = None
    cds_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")

    # Decision records (README "Shared decision making"): `external_ref` is stored only as an
    # HMAC with this secret; without it (development and tests only) a fixed, public key is used.
    decision_ref_secret: SecretStr | None = None
    # Old catalog releases kept in memory for replay, besides the live snapshot.
    release_cache_size: int = Field(default=4, ge=1, le=64)

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(
                "not a database URL; e.g. postgresql+psycopg://user:pass@host/db or "
                "sqlite:///tada.db"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"TADA runs on SQLite or PostgreSQL, not {backend}")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment == "production":
            if self.cds_jwt_disabled:
                raise ValueError("TADA_CDS_JWT_DISABLED must not be set in production")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL: set TADA_DATABASE_URL")
            if self.cors_origins is not None and "*" in self.cors_origins:
                raise ValueError(
                    "TADA_CORS_ORIGINS must list the allowed origins in production, not '*'"
                )
            if (
                self.decision_ref_secret is None
                or len(self.decision_ref_secret.get_secret_value()) < 32
            ):
                raise ValueError(
                    "TADA_DECISION_REF_SECRET (at least 32 characters) is required in production"
                )
        return self

    @property
    def decision_ref_key(self) -> bytes:
        if self.decision_ref_secret is None:
            return DEVELOPMENT_REF_KEY
        return self.decision_ref_secret.get_secret_value().encode()

    @property
    def allowed_origins(self) -> list[str]:
        if self.cors_origins is not None:
            return self.cors_origins
        return [] if self.environment == "production" else ["*"]

    @property
    def timeouts(self) -> DatabaseTimeouts:
        return DatabaseTimeouts(
            connect=self.db_connect_timeout_seconds,
            statement=self.db_statement_timeout_seconds,
            pool=self.db_pool_timeout_seconds,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
        )

    @property
    def audience(self) -> str:
        return self.cds_audience or f"{self.public_base_url.rstrip('/')}/cds-services"


@lru_cache
def get_settings() -> Settings:
    return Settings()
