"""The README's run command, as a new user would run it: `tada serve` from an empty folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env["TADA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'tada.db'}"
    return env


def _tada(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=tmp_path,
        env=_env(tmp_path) | {"PYTHONPATH": str(Path(__file__).parent.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_migrates_seeds_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path) | {"PYTHONPATH": str(Path(__file__).parent.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = None
        # A generous deadline: start-up speed belongs in bench/, not in a test that a loaded
        # machine can fail.
        while time.monotonic() - started < 120 and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert ready is not None, "tada serve never answered /readyz"
        assert ready.status_code == 200, "tada serve never became ready"
        therapies = httpx.get(f"http://127.0.0.1:{port}/v1/therapies", timeout=5).json()["items"]
        assert {"ivig", "scig", "plasma-exchange", "hsct", "rituximab"} <= {
            t["id"] for t in therapies
        }
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
    assert (tmp_path / "tada.db").exists()


def test_keys_and_catalog_commands(tmp_path: Path) -> None:
    upgraded = _tada("db", "upgrade", tmp_path=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    seed = Path(__file__).parent.parent / "db" / "catalog" / "seed.yaml"
    loaded = _tada("catalog", "load", str(seed), tmp_path=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "catalog version 1" in loaded.stdout
    exported = _tada("catalog", "export", "-o", "out.yaml", tmp_path=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "ivig" in (tmp_path / "out.yaml").read_text()
    key = _tada("keys", "create", "--role", "curator", "--name", "pharmacist", tmp_path=tmp_path)
    assert key.returncode == 0
    assert key.stdout.startswith("tada_")
    listed = _tada("keys", "list", tmp_path=tmp_path)
    assert "curator\tpharmacist\tactive" in listed.stdout


@pytest.mark.parametrize("content", ["format: 1\n", "not: [valid"])
def test_loading_a_bad_file_fails_cleanly(tmp_path: Path, content: str) -> None:
    assert _tada("db", "upgrade", tmp_path=tmp_path).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = _tada("catalog", "load", str(bad), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "error:" in result.stderr


def test_version(tmp_path: Path) -> None:
    result = _tada("--version", tmp_path=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("tada ")


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "list"),
        ("keys", "create", "--role", "curator"),
        ("catalog", "export"),
        ("db", "current"),
    ],
)
def test_a_command_in_a_folder_without_a_database_fails_in_one_line_and_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = _tada(*args, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no database at")
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def _tada_env(*args: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=tmp_path,
        env=_env(tmp_path) | {"PYTHONPATH": str(Path(__file__).parent.parent)} | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "args", "says"),
    [
        ({"TADA_CATALOG_REFRESH_SECONDS": "soon"}, ("keys", "list"), "TADA_CATALOG_REFRESH"),
        ({"TADA_ENVIRONMENT": "production"}, ("serve",), "PostgreSQL"),
        (
            {"TADA_DATABASE_URL": "postgresql+psycopg://tada@127.0.0.1:1/tada"},
            ("keys", "list"),
            "cannot use the database",
        ),
        ({"TADA_DATABASE_URL": "not a url"}, ("db", "upgrade"), "TADA_DATABASE_URL"),
        ({}, ("serve", "--workers", "2"), "SQLite serves one process"),
        ({}, ("db", "downgrade"), "needs a revision"),
    ],
)
def test_operator_mistakes_are_one_line_errors(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], says: str
) -> None:
    if args[:2] == ("db", "downgrade"):
        assert _tada("db", "upgrade", tmp_path=tmp_path).returncode == 0
    result = _tada_env(*args, tmp_path=tmp_path, env=env)
    assert result.returncode != 0
    assert result.stderr.startswith("error: "), result.stderr
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_downgrade_to_base_needs_yes(tmp_path: Path) -> None:
    assert _tada("db", "upgrade", tmp_path=tmp_path).returncode == 0
    refused = _tada("db", "downgrade", "base", tmp_path=tmp_path)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert "schema at 0" in _tada("db", "current", tmp_path=tmp_path).stdout
    done = _tada("db", "downgrade", "base", "--yes", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "empty database" in done.stdout


def test_keys_list_says_when_there_are_none(tmp_path: Path) -> None:
    assert _tada("db", "upgrade", tmp_path=tmp_path).returncode == 0
    listed = _tada("keys", "list", tmp_path=tmp_path)
    assert listed.returncode == 0
    assert "no API keys yet" in listed.stderr


def test_help_shows_defaults(tmp_path: Path) -> None:
    shown = _tada("serve", "--help", tmp_path=tmp_path)
    assert shown.returncode == 0
    assert "(default: 8000)" in shown.stdout
    assert "--workers" in shown.stdout
    assert "--log-level" in shown.stdout


def test_clinician_keys_and_exporting_a_past_release(tmp_path: Path) -> None:
    assert _tada("db", "upgrade", tmp_path=tmp_path).returncode == 0
    seed = Path(__file__).parent.parent / "db" / "catalog" / "seed.yaml"
    assert _tada("catalog", "load", str(seed), tmp_path=tmp_path).returncode == 0
    first = _tada("catalog", "export", "-o", "v1.yaml", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    edited = (
        (tmp_path / "v1.yaml").read_text().replace("status: constrained", "status: shortage", 1)
    )
    (tmp_path / "v2.yaml").write_text(edited)
    assert _tada("catalog", "load", "v2.yaml", tmp_path=tmp_path).returncode == 0

    past = _tada("catalog", "export", "--version", "1", "-o", "past.yaml", tmp_path=tmp_path)
    assert past.returncode == 0, past.stderr
    assert (tmp_path / "past.yaml").read_text() == (tmp_path / "v1.yaml").read_text()
    now = _tada("catalog", "export", "--version", "2", tmp_path=tmp_path)
    assert now.stdout == _tada("catalog", "export", tmp_path=tmp_path).stdout
    missing = _tada("catalog", "export", "--version", "9", tmp_path=tmp_path)
    assert missing.returncode == 1
    assert "no recorded release" in missing.stderr

    key = _tada("keys", "create", "--role", "clinician", "--name", "clinic", tmp_path=tmp_path)
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("tada_")
    assert "clinician\tclinic\tactive" in _tada("keys", "list", tmp_path=tmp_path).stdout
