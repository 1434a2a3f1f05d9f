"""`tada serve` waits a bounded time for its database (a container started before PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from support.replicas import Replica, free_port, replica_env, wait_ready
from support.tcp_proxy import TcpProxy


def test_serve_gives_up_after_the_retry_period_with_one_line(tmp_path: Path) -> None:
    closed = f"postgresql+psycopg://tada:secret@127.0.0.1:{free_port()}/tada"
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=replica_env(closed, {"TADA_STARTUP_RETRY_SECONDS": "2"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: cannot use the database")
    retries = [json.loads(line) for line in lines[:-1]]
    assert retries
    assert all(r["message"] == "database not reachable yet; retrying" for r in retries)
    assert "secret" not in done.stderr


def test_serve_starts_once_the_database_answers(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("needs a network database")
    parsed = make_url(database_url)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        proxy.hang()  # the database host is up but PostgreSQL does not answer yet
        url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        port = free_port()
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
                cwd=tmp_path,
                env=replica_env(
                    url,
                    {"TADA_STARTUP_RETRY_SECONDS": "120", "TADA_DB_CONNECT_TIMEOUT_SECONDS": "2"},
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replica = Replica(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        try:
            deadline = time.monotonic() + 60
            while "retrying" not in replica.log():
                assert process.poll() is None, replica.log()
                assert time.monotonic() < deadline, replica.log()
                time.sleep(0.2)
            proxy.resume()
            wait_ready(replica, timeout=120)
        finally:
            replica.stop()
