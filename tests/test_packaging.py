"""A built wheel serves: migrations, the seed catalog and the docs assets are in it.

Builds the wheel, installs it (without dependencies, which come from the test environment) into
a fresh virtual environment, and runs `tada serve` from an empty folder, away from the source
tree, so nothing can be found there by accident.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import httpx
from support.replicas import PROJECT_ROOT, free_port, wait_ready


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_built_wheel_migrates_seeds_and_serves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TADA_", "PYTHON"))}
    dist = tmp_path / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, PROJECT_ROOT,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    wheel = next(dist.glob("tada-*.whl"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
        cwd=tmp_path, env=env,
    ).strip()  # fmt: skip
    # The dependencies (and pip) from this environment; TADA itself only from the wheel.
    (Path(purelib) / "test-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel, cwd=tmp_path, env=env)
    where = _run(python, "-c", "import api, alembic; print(api.__file__, alembic.__file__)",
                 cwd=tmp_path, env=env)  # fmt: skip
    assert str(venv) in where.split()[0]
    assert "site-packages/alembic" in where.split()[1]

    workdir = tmp_path / "clinic"
    workdir.mkdir()
    port = free_port()
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [venv / "bin" / "tada", "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    from support.replicas import Replica

    replica = Replica(url=f"http://127.0.0.1:{port}", process=process, log_path=log)
    try:
        wait_ready(replica)
        scored = httpx.post(f"{replica.url}/v1/score", json={"condition": "cidp"}, timeout=30)
        assert scored.status_code == 200, scored.text
        assert httpx.get(f"{replica.url}/docs-assets/swagger-ui.css", timeout=30).status_code == 200
        # the clinic page: its template and its own script and styles are package data
        assert "Step 1 of 5" in httpx.get(f"{replica.url}/clinic", timeout=30).text
        for asset in ("clinic.js", "clinic.css"):
            served = httpx.get(f"{replica.url}/clinic/static/{asset}", timeout=30)
            assert served.status_code == 200, asset
    finally:
        replica.stop()
