"""Engine and session factory; made by the app's lifespan or the CLI, never at import.

Every wait on the database is bounded (see `DatabaseTimeouts`): connecting, waiting for a pooled
connection, and each statement. A statement timeout set on the server does not help when the
server (or the network path to it) is hung, since the server never gets to cancel anything: the
client would wait on its socket forever. So on PostgreSQL a watchdog thread also enforces the
deadline from our side, by shutting the socket of a connection whose current operation has run
past it; the driver then fails that operation with a disconnect error (answered as 503) and the
pool discards the connection.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("tada.db")


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds. `statement` bounds one statement, commit or connection check, server and client
    side; `connect` bounds opening a connection; `pool` bounds waiting for a free pooled one."""

    connect: float = 5.0
    statement: float = 15.0
    pool: float = 5.0
    pool_size: int = 5
    max_overflow: int = 10


def make_engine(
    url: str, *, timeouts: DatabaseTimeouts | None = None, echo: bool = False
) -> Engine:
    """Create an engine; SQLite gets foreign keys on and a busy timeout for concurrent writers."""
    timeouts = timeouts or DatabaseTimeouts()
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        # The busy timeout is SQLite's only wait: a writer queueing for the write lock.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": timeouts.statement}
    else:
        statement_ms = max(1, int(timeouts.statement * 1000))
        kwargs["connect_args"] = {
            # libpq counts whole seconds, at least 2.
            "connect_timeout": max(2, round(timeouts.connect)),
            "options": f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms}",
        }
        kwargs["pool_timeout"] = timeouts.pool
        kwargs["pool_size"] = timeouts.pool_size
        kwargs["max_overflow"] = timeouts.max_overflow
    engine = create_engine(url, **kwargs)
    if sqlite:
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    else:
        _Watchdog(engine, deadline=timeouts.statement + timeouts.connect).install()
    return engine


class _Watchdog:
    """Cuts a PostgreSQL connection whose current operation outlived its deadline.

    An operation is armed when it starts (the check of a pooled connection on checkout, each
    statement, commit, rollback) and disarmed when it ends or the connection goes back to the
    pool. The deadline is the server's statement timeout plus the connect timeout: a healthy
    server cancels a slow statement itself well before the client cuts anything.
    """

    def __init__(self, engine: Engine, *, deadline: float) -> None:
        self._deadline = deadline
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, Any]] = {}
        self._engine = weakref.ref(engine)
        self._running = False

    def install(self) -> None:
        engine = self._engine()
        assert engine is not None
        event.listen(engine, "checkout", self._on_checkout)
        event.listen(engine, "checkin", self._on_checkin)
        event.listen(engine, "before_cursor_execute", self._on_statement)
        event.listen(engine, "after_cursor_execute", self._on_statement_done)
        event.listen(engine, "commit", self._on_connection_op)
        event.listen(engine, "rollback", self._on_connection_op)

    def _arm(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._armed[id(dbapi_connection)] = (
                time.monotonic() + self._deadline,
                dbapi_connection,
            )
            if not self._running:  # the thread runs only while something is armed
                self._running = True
                threading.Thread(target=self._run, name="tada-db-watchdog", daemon=True).start()

    def _disarm(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._armed.pop(id(dbapi_connection), None)

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # The pessimistic connection check (SQLAlchemy's documented checkout recipe), under the
        # deadline: a connection that fails it is replaced by a new one, up to three times.
        self._arm(dbapi_connection)
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as error:
            self._disarm(dbapi_connection)
            raise exc.DisconnectionError(f"connection check failed: {error}") from error

    def _on_checkin(self, dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            self._disarm(dbapi_connection)

    def _on_statement(self, conn: Any, *_args: Any) -> None:
        self._arm(conn.connection.dbapi_connection)

    def _on_statement_done(self, conn: Any, *_args: Any) -> None:
        # Still checked out: a later commit re-arms; the check-in disarms for good.
        self._disarm(conn.connection.dbapi_connection)

    def _on_connection_op(self, conn: Any) -> None:
        self._arm(conn.connection.dbapi_connection)

    def _run(self) -> None:
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:
                expired = [(k, c) for k, (due, c) in self._armed.items() if due <= now]
                for key, _ in expired:
                    self._armed.pop(key, None)
                if not self._armed and not expired:
                    self._running = False
                    return
            for _, dbapi_connection in expired:
                self._cut(dbapi_connection)

    @staticmethod
    def _cut(dbapi_connection: Any) -> None:
        """Shut the socket down (not close it: the driver still owns the descriptor)."""
        try:
            fd = dbapi_connection.fileno()
        except Exception:  # already closed
            return
        log.warning("database did not answer in time; cutting the connection")
        try:
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINTs; we issue BEGIN
    # ourselves (see _sqlite_on_begin), as the SQLAlchemy docs advise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


WRITE_OPTIONS = {"tada_write": True}


def _sqlite_on_begin(connection: Any) -> None:
    # A writer takes the lock at the start (IMMEDIATE), so two writers queue on the busy timeout
    # instead of one failing half-way with "database is locked"; readers stay concurrent (WAL).
    if connection.get_execution_options().get("tada_write"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
