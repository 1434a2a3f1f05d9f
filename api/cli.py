"""The `tada` command: serve, migrate, load/export the catalog, manage API keys.

An operator's mistake (a bad setting, no database, an unreachable one, a database without the
schema, a wrong argument) is one line on stderr starting with `error:` and a non-zero exit,
never a traceback, and never leaves a file behind (an SQLite database is created only by
`tada serve` and `tada db upgrade`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TypeVar

from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from api.logs import configure_logging, log_config
from api.settings import Settings
from db.catalog_check import catalog_gaps
from db.catalog_file import SEED_CATALOG, CatalogFileError, dump_catalog, load_catalog_file
from db.catalog_io import catalog_is_empty, export_catalog, replace_catalog
from db.keys import ROLES, create_key, list_keys, revoke_key
from db.migrations import current_revision, downgrade, head_revision, upgrade
from db.releases import (
    ReleaseNotRecorded,
    catalog_at,
    ensure_baseline,
    read_release,
    settle_releases,
)
from db.session import make_engine, make_session_factory
from db.storable import storable_problems
from db.versioning import begin_write, current_version

log = logging.getLogger("tada.cli")
T = TypeVar("T")

# Exit codes: 1 the database could not be used, 2 the command or a setting is wrong.
EXIT_DATABASE = 1
EXIT_USAGE = 2


class OperatorError(Exception):
    """A mistake the operator can fix; printed as one line."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def tada_version() -> str:
    try:
        return package_version("tada")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.1.0"


def redacted(url: str) -> str:
    """The database URL without its password, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def prepare_database(settings: Settings) -> int | None:
    """Migrate to head, record a release left waiting (0015) and, if the catalog is empty and
    seeding is on, load the seed file.

    Returns the catalog version created by seeding, or None when nothing was loaded.
    """
    upgrade(settings.database_url, connect_timeout=settings.db_connect_timeout_seconds)
    engine = make_engine(settings.database_url, timeouts=settings.timeouts)
    try:
        factory = make_session_factory(engine)
        if not settings.seed_on_empty:
            settle_releases(factory)  # a release a stopped process left waiting (0015)
            return None
        with factory() as session:
            begin_write(session)
            if not catalog_is_empty(session):
                # A database migrated with a catalog already in it: releases start here.
                ensure_baseline(session)
                session.commit()
                return None
            catalog = load_catalog_file(SEED_CATALOG)
            version = replace_catalog(
                session, catalog, actor="system:seed", summary=f"seed catalog {SEED_CATALOG.name}"
            )
            session.commit()
            return version
    finally:
        engine.dispose()


def _catalog_version(settings: Settings) -> int:
    engine = make_engine(settings.database_url, timeouts=settings.timeouts)
    try:
        with make_session_factory(engine)() as session:
            return current_version(session)
    finally:
        engine.dispose()


def _with_startup_retry(settings: Settings, step: Callable[[], T]) -> T:
    """Run `step`, retrying while the database cannot be reached, for at most
    `startup_retry_seconds` (waits of 1, 2, 4, then 5 s); the last error is raised."""
    deadline = time.monotonic() + settings.startup_retry_seconds
    wait = 1.0
    while True:
        try:
            return step()
        except OperationalError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            log.warning(
                "database not reachable yet; retrying",
                extra={
                    "database": redacted(settings.database_url),
                    "error": str(exc.orig).strip().splitlines()[0] if exc.orig else "",
                    "retry_in_seconds": min(wait, left),
                },
            )
            time.sleep(min(wait, left))
            wait = min(wait * 2, 5.0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    workers = getattr(args, "workers", None) or settings.workers
    level = (getattr(args, "log_level", None) or settings.log_level).upper()
    if workers < 1:
        raise OperatorError(f"--workers {workers}: give 1 or more")
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise OperatorError(
            f"--workers {workers}: SQLite serves one process; use --workers 1, or PostgreSQL "
            "(TADA_DATABASE_URL) to run several"
        )
    # Worker processes read their settings from the environment, like this one did.
    os.environ["TADA_LOG_LEVEL"] = level
    os.environ["TADA_WORKERS"] = str(workers)
    settings = settings.model_copy(update={"log_level": level, "workers": workers})
    configure_logging(level)
    seeded = _with_startup_retry(settings, lambda: prepare_database(settings))
    if seeded is not None:
        log.info("loaded the seed catalog", extra={"catalog_version": seeded})
    if settings.cds_jwt_disabled:
        log.warning(
            "CDS Hooks JWT verification is OFF (TADA_CDS_JWT_DISABLED): development only, "
            "any caller can invoke the CDS services"
        )
    log.info(
        "starting",
        extra={
            "version": tada_version(),
            "database": redacted(settings.database_url),
            "catalog_version": _catalog_version(settings),
            "workers": workers,
            "address": f"http://{args.host}:{args.port}",
            "environment": settings.environment,
        },
    )
    common = {
        "host": args.host,
        "port": args.port,
        "log_config": log_config(level),
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        uvicorn.run("api.app:create_app", factory=True, workers=workers, **common)
    else:
        from api.app import create_app

        uvicorn.run(create_app(settings), **common)
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "upgrade":
        upgrade(settings.database_url, args.revision or "head")
    elif args.action == "downgrade":
        if not args.revision:
            raise OperatorError(
                "tada db downgrade needs a revision (e.g. `tada db downgrade 0002`); "
                "`base` removes everything and also needs --yes"
            )
        if args.revision == "base" and not args.yes:
            raise OperatorError(
                "downgrading to base drops every table (catalog, keys, audit log); "
                "add --yes if that is what you want"
            )
        downgrade(settings.database_url, args.revision)
    engine = make_engine(settings.database_url, timeouts=settings.timeouts)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    print(f"schema at {current or 'nothing (empty database)'} (head {head_revision()})")
    return 0


def check_catalog_file(path: str) -> int:
    """`tada catalog check`: print every option the file would rank on missing data."""
    try:
        catalog = load_catalog_file(path)
    except CatalogFileError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    gaps = catalog_gaps(catalog)
    for gap in gaps:
        print(gap)
    regions = ", ".join(catalog.scales.regions_served)
    print(f"{path}: {len(gaps)} gap(s) for the regions served ({regions})", file=sys.stderr)
    return 1 if gaps else 0


def cmd_catalog(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "check":
        return check_catalog_file(args.file)
    engine = make_engine(settings.database_url, timeouts=settings.timeouts)
    factory = make_session_factory(engine)
    try:
        if args.action == "load":
            try:
                catalog = load_catalog_file(args.file)
            except CatalogFileError as exc:
                raise OperatorError(f"{args.file}: {exc}") from exc
            problems = list(storable_problems(catalog.model_dump()))
            if problems:
                listed = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
                raise OperatorError(f"{args.file}: {listed}")
            with factory() as session:
                begin_write(session)
                version = replace_catalog(
                    session,
                    catalog,
                    actor=f"cli:{args.actor}",
                    summary=f"load {Path(args.file).name}",
                )
                session.commit()
            print(f"loaded {args.file}: catalog version {version}")
        else:
            version = args.version
            try:
                catalog = read_release(
                    factory,
                    lambda session: (
                        export_catalog(session) if version is None else catalog_at(session, version)
                    ),
                )
            except ReleaseNotRecorded as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            text = dump_catalog(catalog)
            if args.output and args.output != "-":
                try:
                    Path(args.output).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise OperatorError(f"cannot write {args.output}: {exc.strerror}") from exc
            else:
                sys.stdout.write(text)
    finally:
        engine.dispose()
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url, timeouts=settings.timeouts)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            if args.action == "create":
                issued = create_key(session, name=args.name, role=args.role)
                session.commit()
                print(issued.key)
                print(
                    f"(key {issued.id}, role {issued.role}: store it now, it is not shown again)",
                    file=sys.stderr,
                )
            elif args.action == "list":
                rows = list_keys(session)
                if not rows:
                    print(
                        "no API keys yet; create one with "
                        "`tada keys create --role curator --name NAME`",
                        file=sys.stderr,
                    )
                for row in rows:
                    state = "revoked" if row.revoked_at else "active"
                    print(f"{row.id}\t{row.role}\t{row.name}\t{state}")
            else:
                if not revoke_key(session, args.id):
                    raise OperatorError(f"no active key {args.id} (see `tada keys list`)")
                session.commit()
                print(f"revoked key {args.id}")
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    defaults = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="tada",
        description="TADA, the Treatment-Alternatives Decision Aid. Settings come from "
        "TADA_* environment variables (README, 'Operating TADA'); the database is "
        "TADA_DATABASE_URL (default sqlite:///tada.db in this folder).",
        formatter_class=defaults,
    )
    parser.add_argument("--version", action="version", version=f"tada {tada_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="migrate, seed an empty catalog, and serve the API",
        description="Migrate the database to the latest schema, load the seed catalog into "
        "an empty one (TADA_SEED_ON_EMPTY), and serve the API.",
        formatter_class=defaults,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--workers",
        type=int,
        default=argparse.SUPPRESS,
        help="worker processes (PostgreSQL only for more than 1; default TADA_WORKERS or 1)",
    )
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        default=argparse.SUPPRESS,
        help="log level (default TADA_LOG_LEVEL or INFO)",
    )
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser(
        "db",
        help="database schema (Alembic): upgrade, downgrade, current",
        description="Apply or undo schema migrations. `downgrade` needs a revision, and "
        "`downgrade base` (drops every table) also needs --yes.",
        formatter_class=defaults,
    )
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: default head)")
    db.add_argument("--yes", action="store_true", help="confirm `downgrade base`")
    db.set_defaults(handler=cmd_db)

    catalog = commands.add_parser(
        "catalog", help="load or export the catalog file", formatter_class=defaults
    )
    catalog_actions = catalog.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = catalog_actions.add_parser(
        "load", help="replace the catalog with a file's content", formatter_class=defaults
    )
    load.add_argument("file", help="a catalog YAML file (docs/catalog-format.md)")
    load.add_argument(
        "--actor", default="curator", help="who is loading (recorded in the audit log)"
    )
    export = catalog_actions.add_parser(
        "export", help="write the catalog as YAML", formatter_class=defaults
    )
    export.add_argument("--output", "-o", default="-", help="file to write, - for stdout")
    export.add_argument(
        "--version", type=int, default=None, help="a past catalog version (default: current)"
    )
    check = catalog_actions.add_parser(
        "check",
        help="list every ranked option without cost, burden, supply or side-effect data",
        formatter_class=defaults,
    )
    check.add_argument(
        "file", nargs="?", default=str(SEED_CATALOG), help="a catalog YAML file (default: the seed)"
    )
    catalog.set_defaults(handler=cmd_catalog)

    keys = commands.add_parser("keys", help="API keys", formatter_class=defaults)
    key_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = key_actions.add_parser(
        "create", help="make a key (printed once)", formatter_class=defaults
    )
    create.add_argument("--role", choices=ROLES, required=True, help="what the key may do")
    create.add_argument("--name", default="unnamed", help="who or what the key is for")
    key_actions.add_parser("list", help="list keys (never the secrets)")
    revoke = key_actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", type=int, help="the key id from `tada keys list`")
    keys.set_defaults(handler=cmd_keys)
    return parser


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = "TADA_" + "_".join(str(p) for p in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if error["loc"] else message)
        raise OperatorError("invalid setting: " + "; ".join(problems)) from exc


def _creates_database(args: argparse.Namespace) -> bool:
    return bool(args.command == "serve" or (args.command == "db" and args.action == "upgrade"))


def _check_sqlite_file(settings: Settings, args: argparse.Namespace) -> None:
    """Only `serve` and `db upgrade` may create an SQLite file; others need an existing one."""
    if args.command == "catalog" and args.action == "check":
        return  # reads a catalog file, never the database
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or _creates_database(args):
        return
    path = url.database or ""
    if path in ("", ":memory:") or Path(path).exists():
        return
    raise OperatorError(
        f"no database at {Path(path).resolve()}: run `tada db upgrade` (or `tada serve`) "
        "first, or set TADA_DATABASE_URL to an existing database",
        EXIT_DATABASE,
    )


def _database_problem(exc: SQLAlchemyError, settings: Settings) -> str:
    message = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    first = message[0] if message else type(exc).__name__
    where = redacted(settings.database_url)
    if "no such table" in first or ("does not exist" in first and "relation" in first):
        return f"the database {where} has no TADA schema: run `tada db upgrade`"
    return f"cannot use the database {where}: {first}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    settings: Settings | None = None
    try:
        settings = _settings()
        _check_sqlite_file(settings, args)
        return int(args.handler(args, settings))
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except (DBAPIError, SQLAlchemyError) as exc:
        assert settings is not None
        print(f"error: {_database_problem(exc, settings)}", file=sys.stderr)
        return EXIT_DATABASE
    except CommandError as exc:  # Alembic: an unknown revision and the like
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
