"""Verifying the EHR's JWT on CDS Hooks calls (CDS Hooks 2.0.1 "Trusting CDS Clients").

The order follows the CDS Hooks best-practice recipe: `iss` on the allow-list, the key found by
`kid` in that issuer's JWKS (or an allow-listed `jku`; an arbitrary `jku` is never fetched, which
would let a caller choose the key that verifies it), the signature (ES384 or RS384 only: `none`
and every HMAC are refused, as the spec requires), `aud` equal to the URL of the service invoked
(the configured base, or the issuer's own base where an EHR set it by hand, plus the service id),
`exp`/`iat` (and `nbf` when sent), then `jti` not seen before. Extra claims (`sub`, `nbf`,
`tenant`, Epic's own) are accepted. Any failure is a 401 with no detail for the caller; the log
says why with `iss`/`jti` only, never the token.

Replay protection keeps seen `jti`s in the database (`cds_jwt_ids`) until their `exp`, so every
replica and worker shares one set: a token replayed to any of them is refused. With the database
unreachable a call is answered 503, never accepted unchecked.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ServiceUnavailable, Unauthorized
from api.settings import Settings
from db.cds import claim_jti, purge_jtis
from db.session import WRITE_OPTIONS

log = logging.getLogger("tada.cds.jwt")

ALGORITHMS = ("ES384", "RS384")
KEY_TYPE = {"ES384": "EC", "RS384": "RSA"}
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 3600  # "no more than an hour" (best practices); bounds the jti store
JWKS_TTL_SECONDS = 300
JWKS_MIN_REFETCH_SECONDS = 5  # an unknown kid refetches, but not more often than this
MAX_TOKEN_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class CdsCaller:
    """Who called, from the verified token (safe to log and store)."""

    issuer: str | None
    tenant: str | None
    jti: str | None
    verified: bool


class JwtRejected(Exception):
    """Internal: why a token was refused (logged, never sent to the caller)."""


class JwksCache:
    """Key sets by URL, kept for the server's Cache-Control max-age (at most 5 minutes) and
    refetched early when a token names a `kid` the cached set does not have (key rotation)."""

    def __init__(self, *, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, float, dict[str, dict[str, Any]]]] = {}

    def _fetch(self, url: str) -> tuple[float, dict[str, dict[str, Any]]]:
        try:
            response = httpx.get(url, timeout=self._timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise JwtRejected(f"JWKS {url} unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise JwtRejected(f"JWKS {url} answered {response.status_code}")
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError) as exc:
            raise JwtRejected(f"JWKS {url} is not JSON") from exc
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise JwtRejected(f"JWKS {url} has no keys array")
        by_kid = {
            str(k["kid"]): k
            for k in keys
            if isinstance(k, dict) and k.get("kid") and k.get("use", "sig") == "sig"
        }
        ttl = JWKS_TTL_SECONDS
        match = re.search(r"max-age=(\d+)", response.headers.get("cache-control", ""))
        if match:
            ttl = min(ttl, int(match.group(1)))
        if "no-store" in response.headers.get("cache-control", ""):
            ttl = 0
        return ttl, by_kid

    def key(self, url: str, kid: str) -> dict[str, Any]:
        now = self._clock()
        cached = self._sets.get(url)
        if cached is not None:
            fetched_at, ttl, keys = cached
            if kid in keys and now - fetched_at < ttl:
                return keys[kid]
            if kid not in keys and now - fetched_at < JWKS_MIN_REFETCH_SECONDS:
                raise JwtRejected(f"unknown kid {kid!r} in {url}")
        with self._lock:
            ttl, keys = self._fetch(url)
            self._sets[url] = (self._clock(), ttl, keys)
        if kid not in keys:
            raise JwtRejected(f"unknown kid {kid!r} in {url}")
        return keys[kid]


class JtiUnavailable(Exception):
    """The replay store cannot be reached: the call is refused (503), never accepted unchecked."""


class JtiStore:
    """Seen (iss, jti) pairs until their token expires, in the database every replica shares.

    Check-and-add is one atomic INSERT ... ON CONFLICT, so two replicas receiving the same
    token at once accept it once. Expired rows are purged at most once a minute per process."""

    def __init__(
        self, session_factory: sessionmaker[Session], clock: Callable[[], float] = time.time
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._next_purge = 0.0

    def add_new(self, issuer: str, jti: str, expires: float) -> bool:
        now = self._clock()
        try:
            with self._session_factory() as session:
                session.connection(execution_options=WRITE_OPTIONS)
                if now >= self._next_purge:
                    self._next_purge = now + 60
                    purge_jtis(session, before=_utc(now - LEEWAY_SECONDS))
                new = claim_jti(
                    session,
                    issuer=issuer[:300],
                    jti=jti[:200],
                    expires_at=_utc(expires + LEEWAY_SECONDS),
                    now=_utc(now),
                )
                session.commit()
                return new
        except SQLAlchemyError as exc:
            raise JtiUnavailable(type(exc).__name__) from exc


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


class JwtVerifier:
    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self._settings = settings
        self.jwks = JwksCache(timeout=settings.cds_fhir_timeout_seconds)
        self.jtis = JtiStore(session_factory)

    def verify(self, token: str, audiences: Callable[[str], list[str]]) -> CdsCaller:
        if len(token) > MAX_TOKEN_BYTES:
            raise JwtRejected("token too large")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise JwtRejected(f"not a JWS: {type(exc).__name__}") from exc
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise JwtRejected(f"algorithm {alg!r} refused (ES384 or RS384 only)")
        if str(header.get("typ", "")).upper() != "JWT":
            raise JwtRejected("typ is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise JwtRejected("no kid")
        issuer = unverified.get("iss")
        trusted = self._settings.cds_trusted_issuers
        if not isinstance(issuer, str) or issuer not in trusted:
            raise JwtRejected(f"issuer {issuer!r} not on the allow-list")
        jku = header.get("jku")
        if jku is not None:
            if jku != trusted[issuer] and not (
                jku in self._settings.cds_jku_allowlist and _same_origin(jku, trusted[issuer])
            ):
                # Tied to the issuer: an allow-listed key set of EHR B must not sign for EHR A.
                raise JwtRejected(f"jku {jku!r} not allow-listed for issuer {issuer!r}")
            url = str(jku)
        else:
            url = trusted[issuer]
        jwk = self.jwks.key(url, kid)
        if jwk.get("kty") != KEY_TYPE[alg] or jwk.get("alg", alg) != alg:
            raise JwtRejected(f"key {kid!r} does not match {alg}")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audiences(issuer),
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise JwtRejected(f"{type(exc).__name__}: {exc}") from exc
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if exp - iat > MAX_LIFETIME_SECONDS:
            raise JwtRejected("lifetime over one hour")
        jti = str(claims["jti"])
        if not self.jtis.add_new(issuer, jti, exp):
            raise JwtRejected(f"jti {jti!r} already used")
        tenant = claims.get("tenant")
        return CdsCaller(
            issuer=issuer,
            tenant=str(tenant) if tenant is not None else None,
            jti=jti,
            verified=True,
        )


_LOCK = threading.Lock()


def verifier(request: Request) -> JwtVerifier:
    state = request.app.state
    found: JwtVerifier | None = getattr(state, "cds_jwt_verifier", None)
    if found is None:
        with _LOCK:
            found = getattr(state, "cds_jwt_verifier", None)
            if found is None:
                found = JwtVerifier(state.settings, state.session_factory)
                state.cds_jwt_verifier = found
    return found


UNVERIFIED = CdsCaller(issuer=None, tenant=None, jti=None, verified=False)


async def authenticate(request: Request) -> CdsCaller:
    """The verified caller of a CDS Hooks service or feedback call, or a 401.

    Verification may fetch a JWKS over the network, so it runs in the thread pool."""
    settings: Settings = request.app.state.settings
    if settings.cds_jwt_disabled:
        log.warning(
            "CDS Hooks JWT verification is DISABLED (TADA_CDS_JWT_DISABLED): anyone can call "
            "%s. Development only.",
            request.url.path,
        )
        return UNVERIFIED
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        log.info("CDS call to %s without a bearer JWT", request.url.path)
        raise _unauthorized()
    service_id = str(request.path_params.get("service_id", ""))
    feedback = request.url.path.endswith("/feedback")

    def audiences(issuer: str) -> list[str]:
        """The URL of the service invoked (CDS Hooks 2.0.1: `aud` MUST be it, not the
        discovery URL), under the base configured for this issuer or the default base."""
        base = settings.cds_audience_by_issuer.get(issuer, settings.audience).rstrip("/")
        service = f"{base}/{service_id}"
        return [service, f"{service}/feedback"] if feedback else [service]

    try:
        return await run_in_threadpool(verifier(request).verify, token.strip(), audiences)
    except JwtRejected as exc:
        log.info("CDS JWT refused on %s: %s", request.url.path, exc)
        raise _unauthorized() from None
    except JtiUnavailable as exc:
        log.warning("CDS JWT replay store unavailable on %s: %s", request.url.path, exc)
        raise ServiceUnavailable(
            "The service cannot check this token against replays right now; try again.",
            headers={"Retry-After": "1"},
        ) from None


def _unauthorized() -> Unauthorized:
    return Unauthorized(
        "The CDS Hooks JWT is missing or not valid.",
        headers={"WWW-Authenticate": 'Bearer realm="cds-services"'},
    )


def _same_origin(a: str, b: str) -> bool:
    """Scheme, host and port equal: a `jku` must live where the issuer's own JWKS lives."""
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)
