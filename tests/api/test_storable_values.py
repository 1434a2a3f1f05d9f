"""One validation for both databases before anything is stored: finite numbers, no NUL
characters, bounded text. The same request gets the same 422 on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.problems import assert_problem

from db.storable import MAX_TEXT_CHARS


def _rule(**changes: Any) -> dict[str, Any]:
    rule = {
        "id": "ivig-test-egfr",
        "code": "renal_impairment",
        "attribute": "egfr",
        "operator": "lt",
        "value": 30,
        "severity": "absolute",
        "message": "A test rule.",
        "source": "ig-boxed-warning",
    }
    return rule | changes


def _post_raw(client: TestClient, path: str, body: str, key: str) -> Any:
    return client.post(
        path,
        content=body.encode(),
        headers={"X-API-Key": key, "content-type": "application/json"},
    )


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity"])
def test_a_risk_rule_value_must_be_finite(
    client: TestClient, curator_key: str, number: str
) -> None:
    import json

    body = json.dumps(_rule(value=0)).replace('"value": 0', f'"value": {number}')
    response = _post_raw(client, "/v1/therapies/ivig/risk-rules", body, curator_key)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    therapy = client.get("/v1/therapies/ivig").json()
    assert "ivig-test-egfr" not in {r["id"] for r in therapy["risk_rules"]}


def test_text_with_a_nul_character_is_refused(client: TestClient, curator_key: str) -> None:
    source = {"id": "nul-source", "citation": "before\u0000after", "kind": "other"}
    response = client.post("/v1/sources", json=source, headers={"X-API-Key": curator_key})
    assert_problem(response, 422, "NUL")
    assert "nul-source" not in {s["id"] for s in client.get("/v1/sources").json()["items"]}


def test_text_longer_than_the_bound_is_refused(client: TestClient, curator_key: str) -> None:
    source = {"id": "long-source", "citation": "x" * (MAX_TEXT_CHARS + 1), "kind": "other"}
    response = client.post("/v1/sources", json=source, headers={"X-API-Key": curator_key})
    body = assert_problem(response, 422)
    assert body["errors"][0]["path"].endswith("citation")
    assert "long-source" not in {s["id"] for s in client.get("/v1/sources").json()["items"]}


def test_a_catalog_file_with_infinity_is_refused_by_the_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    seed = Path(__file__).resolve().parents[2] / "db" / "catalog" / "seed.yaml"
    text = seed.read_text().replace("        value: 30\n", "        value: .inf\n", 1)
    assert ".inf" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    env = {"TADA_DATABASE_URL": f"sqlite:///{tmp_path / 'tada.db'}", "PATH": "/usr/bin:/bin"}
    root = str(Path(__file__).resolve().parents[2])
    run = [sys.executable, "-m", "api.cli"]
    upgraded = subprocess.run(
        [*run, "db", "upgrade"], cwd=tmp_path, env=env | {"PYTHONPATH": root}, check=False
    )
    assert upgraded.returncode == 0
    loaded = subprocess.run(
        [*run, "catalog", "load", str(bad)],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": root},
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 2, loaded.stderr
    assert "finite" in loaded.stderr
