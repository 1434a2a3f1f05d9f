"""Browser tests: the clinic page in Debian's Chromium, driven by Playwright for Python.

The server runs in this process (uvicorn in a thread, 127.0.0.1, a free port) on its own
migrated, seeded SQLite file. Playwright never downloads a browser: it launches
`/usr/bin/chromium` (or `TADA_CHROMIUM`). Without Chromium (or Playwright) the tests skip with
a one-line reason; `.ci/run` sets `TADA_BROWSER_TESTS=required`, which turns that skip into a
failure. axe-core comes from the npm registry (`npm pack`) into a cache folder outside the
repository (`TADA_AXE_DIR`, default `~/.cache/tada/axe-core`); `.ci/run` fetches it up front.

A failing test saves a screenshot of its page as `failure.png` in its temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from api.settings import Settings
from db.catalog_file import SEED_CATALOG, load_catalog_file
from db.catalog_io import replace_catalog
from db.keys import create_key
from db.migrations import upgrade
from db.session import WRITE_OPTIONS, make_engine, make_session_factory

CHROMIUM = os.environ.get("TADA_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("TADA_BROWSER_TESTS", "").lower() == "required"
AXE_VERSION = os.environ.get("TADA_AXE_VERSION", "4.10.2")
AXE_DIR = Path(os.environ.get("TADA_AXE_DIR", Path.home() / ".cache" / "tada" / "axe-core"))


def _unavailable(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"browser tests are required here (TADA_BROWSER_TESTS=required): {reason}")
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()
SCRIPT_ERRORS = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    return CHROMIUM


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    def __init__(self, base_url: str, database_url: str) -> None:
        self.base_url = base_url
        self.database_url = database_url

    def key(self, role: str) -> str:
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                issued = create_key(session, name=f"browser-{role}", role=role)
                session.commit()
                return issued.key
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def live_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    import uvicorn

    from api.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'tada.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            replace_catalog(
                session, load_catalog_file(SEED_CATALOG), actor="test:seed", summary="seed"
            )
            session.commit()
    finally:
        engine.dispose()
    settings = Settings(
        _env_file=None, environment="test", database_url=url, warm_up=False, cds_jwt_disabled=True
    )
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):  # start-up, not a timing assertion: wait until it answers
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    yield LiveServer(f"http://127.0.0.1:{port}", url)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=args)
        yield launched
        launched.close()


@pytest.fixture
def page(
    browser: Any, live_server: LiveServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    """A fresh tab (own session storage) on the clinic page; collects script errors."""
    viewport = getattr(request, "param", None) or {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, bypass_csp=False, accept_downloads=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    request.node.stash[SCRIPT_ERRORS] = errors
    tab.goto(f"{live_server.base_url}/clinic")
    yield tab
    if request.node.stash.get(FAILED, False):
        tab.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot of the failing page: {tmp_path / 'failure.png'}")
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js from the npm registry (cached outside the repository)."""
    target = AXE_DIR / AXE_VERSION / "axe.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is not installed, so axe-core cannot be fetched")
        work = AXE_DIR / AXE_VERSION
        work.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            _unavailable(f"could not fetch axe-core {AXE_VERSION} from npm: {exc}")
        tarball = work / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            target.write_bytes(member.read())
        tarball.unlink()
    return target.read_text(encoding="utf-8")


@pytest.fixture
def script_errors(page: Any, request: pytest.FixtureRequest) -> list[str]:
    """Uncaught errors of the page's own script (asserted empty by the flow tests)."""
    errors: list[str] = request.node.stash[SCRIPT_ERRORS]
    return errors
