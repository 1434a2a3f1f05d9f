"""Several `tada serve` processes on one database, for tests of a scaled-out deployment.

Each replica is a real process (`python -m api.cli serve`) on a free 127.0.0.1 port, started
against the database URL the test gives (normally the `database_url` fixture: migrated and
seeded), so what the tests see is what a load balancer in front of several replicas would see.

    from support.replicas import running_replicas

    def test_something(database_url: str) -> None:
        refresh = {"TADA_CATALOG_REFRESH_SECONDS": "0.5"}
        with running_replicas(database_url, count=2, env=refresh) as (a, b):
            httpx.post(f"{a.url}/v1/sources", ...)
            ...

`env` adds or overrides `TADA_*` settings for every replica (the test's own `TADA_*` environment
is not inherited). Readiness means `/readyz` answered 200; a replica that exits or is not ready
within `ready_timeout` fails the test with its log. Processes are stopped (SIGTERM, then SIGKILL)
on exit, whatever happened.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    """One running `tada serve` process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def replica_env(database_url: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment: ours without any `TADA_*`, plus the database and `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    base["TADA_DATABASE_URL"] = database_url
    base["TADA_ENVIRONMENT"] = "test"
    base["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    base.update(env or {})
    return base


def start_replica(
    database_url: str,
    *,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Replica:
    """Start one replica; does not wait for it (see `wait_ready`)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"replica-{port}.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), *args]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=replica_env(database_url, env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return Replica(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)


def wait_ready(replica: Replica, *, timeout: float = 60.0) -> None:
    """Poll `/readyz` until it answers 200; fail with the replica's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise AssertionError(
                f"replica {replica.url} exited ({replica.process.returncode}):\n{replica.log()}"
            )
        try:
            if httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"replica {replica.url} not ready in {timeout} s:\n{replica.log()}")


@contextmanager
def running_replicas(
    database_url: str,
    *,
    count: int = 2,
    env: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    ready_timeout: float = 60.0,
    args: tuple[str, ...] = (),
) -> Iterator[list[Replica]]:
    """`count` ready replicas on `database_url`, stopped on exit; `args` go to `tada serve`
    (e.g. `("--workers", "2")`)."""
    import tempfile

    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tada-rep-")))
        replicas: list[Replica] = []
        for _ in range(count):
            replica = start_replica(database_url, workdir=workdir, env=env, args=args)
            stack.callback(replica.stop)
            replicas.append(replica)
        for replica in replicas:
            wait_ready(replica, timeout=ready_timeout)
        yield replicas
