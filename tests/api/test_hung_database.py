"""A hung database: scores keep coming from memory, readiness says degraded, writes say 503.

The database sits behind a TCP proxy the test controls; `hang()` makes it stop answering while
the connections stay open (a server-side timeout cannot help then). The service runs as a real
`tada serve` process. Client timeouts are generous: the test checks that answers come, the
benchmark (bench/) how fast.
"""

from __future__ import annotations

import time

import httpx
import pytest
from conftest import make_key
from sqlalchemy.engine import make_url
from support.replicas import running_replicas
from support.tcp_proxy import TcpProxy

SCORE = {"condition": "cidp", "patient": {"age_years": 52}}
SHORT_TIMEOUTS = {
    "TADA_CATALOG_REFRESH_SECONDS": "0.5",
    "TADA_DB_CONNECT_TIMEOUT_SECONDS": "2",
    "TADA_DB_STATEMENT_TIMEOUT_SECONDS": "1",
    "TADA_DB_POOL_TIMEOUT_SECONDS": "1",
    "TADA_READINESS_TIMEOUT_SECONDS": "1",
}


def _through(proxy: TcpProxy, database_url: str) -> str:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def _wait_for(check: object, *, seconds: float = 60) -> None:
    """Poll a condition (a bound on a broken build, not a speed assertion)."""
    assert callable(check)
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


def test_scores_are_served_while_the_database_hangs(backend: str, database_url: str) -> None:
    if backend != "postgresql":
        pytest.skip("a network database can hang; SQLite is a local file")
    parsed = make_url(database_url)
    curator = make_key(database_url, "curator")
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        url = _through(proxy, database_url)
        with (
            running_replicas(url, count=1, env=SHORT_TIMEOUTS) as (api,),
            httpx.Client(base_url=api.url, timeout=60) as client,
        ):
            keyed = {"X-API-Key": curator}
            assert client.post("/v1/score", json=SCORE, headers=keyed).status_code == 200

            proxy.hang()
            for headers in ({}, keyed):
                scored = client.post("/v1/score", json=SCORE, headers=headers)
                assert scored.status_code == 200, scored.text
                assert scored.json()["ranked"]

            ready = client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"

            written = client.post(
                "/v1/sources",
                json={"id": "during-hang", "citation": "x", "kind": "other"},
                headers=keyed,
            )
            assert written.status_code == 503, written.text
            assert written.headers["content-type"] == "application/problem+json"

            proxy.resume()
            _wait_for(lambda: client.get("/readyz").json().get("status") == "ready")
            written = client.post(
                "/v1/sources",
                json={"id": "after-hang", "citation": "x", "kind": "other"},
                headers=keyed,
            )
            assert written.status_code == 201, written.text
