"""One validated settings object; it refuses combinations that would be unsafe in production."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_REF_KEY = b"tada-development-only-decision-ref-key"


class Settings(BaseSettings):
    """Read from the environment (prefix `TADA_`) and an optional `.env` file."""

    model_config = SettingsConfigDict(env_prefix="TADA_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///tada.db"
    seed_on_empty: bool = True
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    read_requires_key: bool = False
    catalog_refresh_seconds: float = Field(default=2.0, ge=0)
    batch_max_cases: int = Field(default=10_000, ge=1)
    log_level: str = "INFO"
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
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    sdm_link_url: str | None = None
    cds_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")

    # Decision records (README "Shared decision making"): `external_ref` is stored only as an
    # HMAC with this secret; without it (development and tests only) a fixed, public key is used.
    decision_ref_secret: SecretStr | None = None
    # Old catalog releases kept in memory for replay, besides the live snapshot.
    release_cache_size: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment == "production":
            if self.cds_jwt_disabled:
                raise ValueError("TADA_CDS_JWT_DISABLED must not be set in production")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL: set TADA_DATABASE_URL")
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
    def audience(self) -> str:
        return self.cds_audience or f"{self.public_base_url.rstrip('/')}/cds-services"


@lru_cache
def get_settings() -> Settings:
    return Settings()
