"""The `tada` command: serve, migrate, load/export the catalog, manage API keys."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from api.settings import Settings, get_settings
from db.catalog_check import catalog_gaps
from db.catalog_file import SEED_CATALOG, CatalogFileError, dump_catalog, load_catalog_file
from db.catalog_io import catalog_is_empty, export_catalog, replace_catalog
from db.keys import ROLES, create_key, list_keys, revoke_key
from db.migrations import current_revision, downgrade, head_revision, upgrade
from db.session import WRITE_OPTIONS, make_engine, make_session_factory

log = logging.getLogger("tada.cli")


def prepare_database(settings: Settings) -> int | None:
    """Migrate to head and, if the catalog is empty and seeding is on, load the seed file.

    Returns the catalog version created by seeding, or None when nothing was loaded.
    """
    upgrade(settings.database_url)
    if not settings.seed_on_empty:
        return None
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            if not catalog_is_empty(session):
                return None
            catalog = load_catalog_file(SEED_CATALOG)
            version = replace_catalog(
                session, catalog, actor="system:seed", summary=f"seed catalog {SEED_CATALOG.name}"
            )
            session.commit()
            return version
    finally:
        engine.dispose()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    version = prepare_database(settings)
    if version is not None:
        print(f"loaded the seed catalog as version {version}", file=sys.stderr)
    if settings.cds_jwt_disabled:
        print(
            "WARNING: CDS Hooks JWT verification is OFF (TADA_CDS_JWT_DISABLED). "
            "Development only: any caller can invoke the CDS services.",
            file=sys.stderr,
        )
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "upgrade":
        upgrade(settings.database_url, args.revision or "head")
    elif args.action == "downgrade":
        downgrade(settings.database_url, args.revision or "base")
    engine = make_engine(settings.database_url)
    try:
        print(f"schema at {current_revision(engine)} (head {head_revision(settings.database_url)})")
    finally:
        engine.dispose()
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
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        if args.action == "load":
            try:
                catalog = load_catalog_file(args.file)
            except CatalogFileError as exc:
                print(f"error: {args.file}: {exc}", file=sys.stderr)
                return 2
            with factory() as session:
                session.connection(execution_options=WRITE_OPTIONS)
                version = replace_catalog(
                    session,
                    catalog,
                    actor=f"cli:{args.actor}",
                    summary=f"load {Path(args.file).name}",
                )
                session.commit()
            print(f"loaded {args.file}: catalog version {version}")
        else:
            with factory() as session:
                text = dump_catalog(export_catalog(session))
            if args.output and args.output != "-":
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
    finally:
        engine.dispose()
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
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
                for row in list_keys(session):
                    state = "revoked" if row.revoked_at else "active"
                    print(f"{row.id}\t{row.role}\t{row.name}\t{state}")
            else:
                if not revoke_key(session, args.id):
                    print(f"no active key {args.id}", file=sys.stderr)
                    return 1
                session.commit()
                print(f"revoked key {args.id}")
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tada", description="TADA, the Treatment-Alternatives Decision Aid"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, seed if empty, and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="database schema (Alembic)")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(handler=cmd_db)

    catalog = commands.add_parser("catalog", help="load or export the catalog file")
    catalog_actions = catalog.add_subparsers(dest="action", required=True)
    load = catalog_actions.add_parser("load", help="replace the catalog with a file's content")
    load.add_argument("file")
    load.add_argument(
        "--actor", default="curator", help="who is loading (recorded in the audit log)"
    )
    export = catalog_actions.add_parser("export", help="write the catalog as YAML")
    export.add_argument("--output", "-o", default="-")
    check = catalog_actions.add_parser(
        "check", help="list every ranked option without cost, burden, supply or side-effect data"
    )
    check.add_argument("file", nargs="?", default=str(SEED_CATALOG))
    catalog.set_defaults(handler=cmd_catalog)

    keys = commands.add_parser("keys", help="API keys")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--name", default="unnamed")
    key_actions.add_parser("list")
    revoke = key_actions.add_parser("revoke")
    revoke.add_argument("id", type=int)
    keys.set_defaults(handler=cmd_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    return int(args.handler(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
