"""The database check behind `/readyz`: bounded in time, one at a time, and quiet.

A load balancer polls `/readyz` every few seconds; with the database hung, a check per poll
would each hold a thread and a connection until the database timeouts cut them. So at most one
check runs at a time (concurrent polls share it), and `/readyz` waits for it at most
`readiness_timeout_seconds`, then answers from what it knows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Engine, text

from db.migrations import schema_revision


@dataclass(frozen=True)
class DatabaseState:
    database: str  # "ok" or why not
    schema: str  # "ok", "missing", "at X, head is Y", or "unknown"


class DatabaseProbe:
    def __init__(self, engine: Engine, *, head: str | None, timeout: float) -> None:
        self._engine = engine
        self._head = head
        self._timeout = timeout
        self._running: asyncio.Future[DatabaseState] | None = None

    def _check(self) -> DatabaseState:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                current = schema_revision(connection)
        except Exception as exc:
            return DatabaseState(database=f"unreachable: {type(exc).__name__}", schema="unknown")
        if current is None:
            return DatabaseState(database="ok", schema="missing")
        if current != self._head:
            return DatabaseState(database="ok", schema=f"at {current}, head is {self._head}")
        return DatabaseState(database="ok", schema="ok")

    async def check(self) -> DatabaseState:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(anyio.to_thread.run_sync(self._check))
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), self._timeout)
        except TimeoutError:
            return DatabaseState(database=f"no answer within {self._timeout:g} s", schema="unknown")
