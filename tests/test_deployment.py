"""The container set-up, checked without Docker: what compose and the image promise."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgresql+psycopg://tada:tada@db/tada"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_postgres_health_check_uses_tcp() -> None:
    test = " ".join(_compose()["services"]["postgres"]["healthcheck"]["test"])
    assert "-h 127.0.0.1" in test


def test_every_service_restarts_and_the_api_waits_for_its_database_a_bounded_time() -> None:
    services = _compose()["services"]
    assert all(s.get("restart") in ("unless-stopped", "always") for s in services.values())
    retry = float(services["api"]["environment"]["TADA_STARTUP_RETRY_SECONDS"])
    assert 0 < retry <= 600


def test_the_api_environment_is_valid_for_production_and_never_allows_every_origin() -> None:
    environment = {
        k.removeprefix("TADA_").lower(): v
        for k, v in _compose()["services"]["api"]["environment"].items()
    }
    environment["cors_origins"] = json.loads(environment["cors_origins"])
    settings = Settings(_env_file=None, **environment)
    assert settings.environment == "production"
    assert "*" not in settings.allowed_origins


def test_the_image_runs_as_a_user_on_the_python_ci_tests() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM python:(\d+\.\d+)", dockerfile, re.MULTILINE)
    assert base is not None
    assert base.group(1) == f"{sys.version_info.major}.{sys.version_info.minor}"
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    assert "pip install -e" not in dockerfile  # a real install, as users get it


def test_production_refuses_cors_star() -> None:
    with pytest.raises(ValidationError, match="not '\\*'"):
        Settings(
            _env_file=None, environment="production", database_url=POSTGRES, cors_origins=["*"]
        )


def test_production_allows_no_origin_by_default() -> None:
    settings = Settings(
        _env_file=None,
        environment="production",
        database_url=POSTGRES,
        decision_ref_secret="a-long-random-secret-for-decision-refs",
    )
    assert settings.allowed_origins == []
    development = Settings(_env_file=None, environment="development")
    assert development.allowed_origins == ["*"]


def test_cors_answers_only_listed_origins(database_url: str) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        cors_origins=["https://clinic.example.org"],
        warm_up=False,
    )
    with TestClient(create_app(settings)) as client:
        allowed = client.get("/healthz", headers={"Origin": "https://clinic.example.org"})
        other = client.get("/healthz", headers={"Origin": "https://evil.example.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://clinic.example.org"
    assert "access-control-allow-origin" not in other.headers
