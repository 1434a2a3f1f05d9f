"""The EHR's JWT on CDS Hooks calls: the accept/reject matrix, with a JWKS served on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import text
from support.replicas import running_replicas

from api.app import create_app
from api.settings import Settings
from db.session import make_engine

AUDIENCE = "https://tada.example.org/cds-services"
SERVICE = "/cds-services/tada-patient-view"
ISSUER = "https://ehr.example.org"
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if alg.startswith("ES") else RSAAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


class JwksServer:
    def __init__(self) -> None:
        self.keys = [_jwk(EC_KEY, "ec-1", "ES384"), _jwk(RSA_KEY, "rsa-1", "RS384")]
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                data = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "max-age=300")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def secure_client(database_url: str, jwks: JwksServer) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        cds_jwt_disabled=False,
        cds_audience=AUDIENCE,
        cds_trusted_issuers={ISSUER: jwks.url},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def token(
    *,
    key: Any = EC_KEY,
    alg: str = "ES384",
    kid: str = "ec-1",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE + "/tada-patient-view",
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(
        payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT", **(headers or {})}
    )


def body() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1"},
            "conditions": {"resourceType": "Bundle", "type": "searchset"},
        },
    }


def call(client: TestClient, bearer: str | None) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.post(SERVICE, json=body(), headers=headers)


def assert_accepted(response: Any) -> None:
    """The call got through to the service: its CDS Hooks answer (no card for this patient,
    whose bundle names no condition), not an error."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"cards": []}


def assert_refused(response: Any) -> None:
    """A 401 problem that names the JWT and challenges for a bearer token."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/unauthorized")
    assert problem["title"] == "Unauthorized"
    assert problem["detail"] == "The CDS Hooks JWT is missing or not valid."
    assert response.headers["www-authenticate"].startswith("Bearer")


def _unsigned(**claims: Any) -> str:
    import base64

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, "jti": "x", **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{part(payload)}."


def test_good_es384_token_is_accepted(secure_client: TestClient) -> None:
    assert_accepted(call(secure_client, token()))


def test_good_rs384_token_with_extra_claims_is_accepted(secure_client: TestClient) -> None:
    now = int(time.time())
    bearer = token(
        key=RSA_KEY, alg="RS384", kid="rsa-1", sub="ehr-client", nbf=now - 300, tenant="t-1"
    )
    assert_accepted(call(secure_client, bearer))


def test_discovery_url_as_audience_of_a_service_call_is_refused(
    secure_client: TestClient,
) -> None:
    """CDS Hooks 2.0.1: `aud` MUST be the URL of the service invoked, not the discovery URL."""
    assert_refused(call(secure_client, token(aud=AUDIENCE)))


def test_another_services_url_as_audience_is_refused(secure_client: TestClient) -> None:
    assert_refused(call(secure_client, token(aud=AUDIENCE + "/tada-ig-order-sign")))


def test_audience_configured_per_issuer(database_url: str, jwks: JwksServer) -> None:
    """An EHR whose `aud` was configured by hand with another base is accepted under that
    base only."""
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        catalog_refresh_seconds=0,
        cds_audience=AUDIENCE,
        cds_trusted_issuers={ISSUER: jwks.url},
        cds_audience_by_issuer={ISSUER: "https://proxy.example.org/tada/cds-services/"},
        warm_up=False,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        by_hand = "https://proxy.example.org/tada/cds-services/tada-patient-view"
        assert_accepted(call(client, token(aud=by_hand)))
        assert_refused(call(client, token()))


def test_allow_listed_jku_is_accepted(secure_client: TestClient, jwks: JwksServer) -> None:
    assert_accepted(call(secure_client, token(headers={"jku": jwks.url})))


def test_an_allow_listed_jku_of_another_issuer_cannot_sign_for_this_one(
    database_url: str, jwks: JwksServer
) -> None:
    """EHR B's key set is allow-listed for B; a token claiming to be EHR A signed with B's key
    and pointing at B's key set must be refused."""
    other = JwksServer()
    other.keys = [_jwk(OTHER_EC_KEY, "b-1", "ES384")]
    try:
        settings = Settings(
            _env_file=None,
            environment="test",
            database_url=database_url,
            catalog_refresh_seconds=0,
            cds_jwt_disabled=False,
            cds_audience=AUDIENCE,
            cds_trusted_issuers={ISSUER: jwks.url, "https://ehr-b.example.org": other.url},
            cds_jku_allowlist=[other.url],
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            forged = token(key=OTHER_EC_KEY, kid="b-1", headers={"jku": other.url})
            assert_refused(call(client, forged))
            assert other.hits == 0, "the other issuer's key set must not even be fetched"
            genuine = token(
                key=OTHER_EC_KEY,
                kid="b-1",
                iss="https://ehr-b.example.org",
                headers={"jku": other.url},
            )
            assert_accepted(call(client, genuine))
    finally:
        other.close()


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "wrong_audience",
        "expired",
        "unknown_issuer",
        "bad_signature",
        "alg_none",
        "hs256",
        "es256",
        "no_jti",
        "no_iat",
        "unknown_kid",
        "jku_not_allowed",
        "not_a_jwt",
        "rsa_key_for_es384",
        "lifetime_over_an_hour",
    ],
)
def test_bad_tokens_are_401_problems(secure_client: TestClient, case: str) -> None:
    now = int(time.time())
    bearers: dict[str, str | None] = {
        "missing": None,
        "wrong_audience": None,
        "expired": None,
        "unknown_issuer": None,
        "bad_signature": None,
        "alg_none": None,
        "hs256": None,
        "es256": None,
        "no_jti": None,
        "no_iat": None,
        "unknown_kid": None,
        "jku_not_allowed": None,
        "not_a_jwt": "not-a-jwt",
        "rsa_key_for_es384": None,
        "lifetime_over_an_hour": None,
    }
    if case == "wrong_audience":
        bearers[case] = token(aud="https://elsewhere.example.org/cds-services")
    elif case == "expired":
        bearers[case] = token(exp=now - 120, iat=now - 420)
    elif case == "unknown_issuer":
        bearers[case] = token(iss="https://evil.example.org")
    elif case == "bad_signature":
        bearers[case] = token(key=OTHER_EC_KEY)
    elif case == "alg_none":
        bearers[case] = _unsigned()
    elif case == "hs256":
        bearers[case] = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, "jti": "h"},
            "a-shared-secret-of-enough-length-32b",
            algorithm="HS256",
            headers={"kid": "ec-1", "typ": "JWT"},
        )
    elif case == "es256":
        bearers[case] = token(key=ec.generate_private_key(ec.SECP256R1()), alg="ES256")
    elif case == "no_jti":
        bearers[case] = token(jti=None)
    elif case == "no_iat":
        bearers[case] = token(iat=None)
    elif case == "unknown_kid":
        bearers[case] = token(kid="rotated-away")
    elif case == "jku_not_allowed":
        bearers[case] = token(headers={"jku": "https://attacker.example.org/jwks.json"})
    elif case == "rsa_key_for_es384":
        bearers[case] = token(kid="rsa-1")
    elif case == "lifetime_over_an_hour":
        bearers[case] = token(exp=now + 7200)
    assert_refused(call(secure_client, bearers[case]))


def test_reused_jti_is_refused(secure_client: TestClient) -> None:
    bearer = token()
    assert_accepted(call(secure_client, bearer))
    assert_refused(call(secure_client, bearer))


def test_unknown_kid_refetches_the_jwks_once(
    secure_client: TestClient, jwks: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("api.cds.jwt.JWKS_MIN_REFETCH_SECONDS", 0)
    rotated = ec.generate_private_key(ec.SECP384R1())
    assert_accepted(call(secure_client, token()))
    before = jwks.hits
    jwks.keys.append(_jwk(rotated, "ec-2", "ES384"))
    try:
        assert_accepted(call(secure_client, token(key=rotated, kid="ec-2")))
        assert jwks.hits == before + 1
        assert_accepted(call(secure_client, token()))
        assert jwks.hits == before + 1  # cached
    finally:
        jwks.keys.pop()


def test_feedback_needs_the_jwt_too(secure_client: TestClient, curator_key: str) -> None:
    card = str(uuid.uuid4())
    feedback = {
        "feedback": [
            {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}
        ]
    }
    assert_refused(secure_client.post(f"{SERVICE}/feedback", json=feedback))
    bearer = token(aud=AUDIENCE + "/tada-patient-view/feedback")
    response = secure_client.post(
        f"{SERVICE}/feedback", json=feedback, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert response.status_code == 200
    assert response.content == b""
    stored = secure_client.get(
        f"{SERVICE}/feedback?card={card}", headers={"X-API-Key": curator_key}
    ).json()
    assert stored["total"] == 1  # the refused call stored nothing
    assert stored["items"][0]["outcome"] == "overridden"
    assert stored["items"][0]["issuer"] == ISSUER


def test_tokens_are_never_logged(
    secure_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good, bad = token(), token(aud="https://elsewhere.example.org")
    call(secure_client, good)
    call(secure_client, bad)
    for bearer in (good, bad):
        for piece in bearer.split("."):
            assert piece not in caplog.text


def test_dev_mode_skips_verification_loudly(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tada.cds.jwt")
    assert_accepted(call(client, None))
    assert "DISABLED" in caplog.text


def test_dev_mode_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="TADA_CDS_JWT_DISABLED"):
        Settings(
            _env_file=None,
            environment="production",
            database_url="postgresql+psycopg://x@localhost/x",
            cds_jwt_disabled=True,
        )


def test_replay_is_refused_by_another_replica(
    backend: str, database_url: str, jwks: JwksServer
) -> None:
    """Two `tada serve` processes on one database: a token accepted by one is refused by the
    other (the jti store is shared, not per process)."""
    if backend != "postgresql":
        pytest.skip("production replicas share PostgreSQL")
    env = {
        "TADA_CDS_AUDIENCE": AUDIENCE,
        "TADA_CDS_TRUSTED_ISSUERS": json.dumps({ISSUER: jwks.url}),
        "TADA_WARM_UP": "false",
    }
    with running_replicas(database_url, count=2, env=env) as (first, second):
        bearer = token()
        headers = {"Authorization": f"Bearer {bearer}"}
        url = SERVICE
        assert_accepted(httpx.post(first.url + url, json=body(), headers=headers))
        assert_refused(httpx.post(second.url + url, json=body(), headers=headers))
        fresh = {"Authorization": f"Bearer {token()}"}
        assert_accepted(httpx.post(second.url + url, json=body(), headers=fresh))


def test_replay_store_unavailable_is_503_never_accepted(
    secure_client: TestClient, database_url: str
) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE cds_jwt_ids"))
    finally:
        engine.dispose()
    response = call(secure_client, token())
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Service unavailable"
    assert "cannot check this token against replays" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"


def test_an_expired_tokens_jti_row_does_not_block_forever(database_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from db.cds import claim_jti
    from db.session import make_session_factory

    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        with factory() as session:
            assert claim_jti(session, issuer="i", jti="j", expires_at=now, now=now)
            session.commit()
        with factory() as session:
            later = now + timedelta(minutes=5)
            # The first token expired at `now`; at `now + 6 min` its row no longer blocks.
            assert claim_jti(
                session, issuer="i", jti="j", expires_at=later, now=now + timedelta(minutes=6)
            )
            session.commit()
        with factory() as session:
            assert not claim_jti(session, issuer="i", jti="j", expires_at=later, now=now)
    finally:
        engine.dispose()
