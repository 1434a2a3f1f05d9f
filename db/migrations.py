"""Running Alembic from code: `tada db upgrade`, `tada serve` and the tests all come here.

The migration scripts live in the top-level `alembic/` folder of the source tree. An installed
TADA (a wheel, `pip install .`) carries the same files as data files under
`<prefix>/share/tada/alembic` (see `pyproject.toml`): outside `site-packages`, so they can never
shadow the `alembic` library. `migrations_folder()` uses the source tree's when there is one.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from alembic import command
from db.session import DatabaseTimeouts, make_engine

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = Path(sysconfig.get_path("data")) / "share" / "tada" / "alembic"


def migrations_folder() -> Path:
    """The folder holding `env.py` and `versions/`: the source tree's, else the packaged copy."""
    source = ROOT / "alembic"
    if (source / "env.py").is_file():
        return source
    return INSTALLED


def alembic_config(url: str) -> Config:
    # No alembic.ini: its only content was logging set-up, which TADA's own logging replaces.
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _run(url: str, connect_timeout: float, step: Callable[[Config], None]) -> None:
    """Run an Alembic command on TADA's own engine, so connecting is bounded like everywhere
    else (Alembic's default engine would wait forever on a database that does not answer).
    Statements get an hour: a migration may rewrite a large table."""
    engine = make_engine(url, timeouts=DatabaseTimeouts(connect=connect_timeout, statement=3600))
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Batch migrations rebuild a table on SQLite (copy, drop, rename). With foreign
                # keys on, dropping the old table deletes the rows that cascade from it (an
                # indication's outcome figures): off for the migration, as Alembic advises.
                # On the driver connection, before SQLAlchemy begins a transaction (the pragma
                # is ignored inside one); this engine is disposed afterwards.
                raw = connection.connection.dbapi_connection
                assert raw is not None
                raw.execute("PRAGMA foreign_keys=OFF")
            config = alembic_config(url)
            config.attributes["connection"] = connection
            step(config)
            connection.commit()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", *, connect_timeout: float = 5.0) -> None:
    _run(url, connect_timeout, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str, *, connect_timeout: float = 5.0) -> None:
    _run(url, connect_timeout, lambda config: command.downgrade(config, revision))


def head_revision(url: str = "sqlite://") -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def schema_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None without a schema (no Alembic log chatter)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return schema_revision(connection)
