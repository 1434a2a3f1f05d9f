"""GET /clinic without a browser: what the server renders, its headers, assets and packaging."""

from __future__ import annotations

import json
import re
from importlib.resources import files

from fastapi.testclient import TestClient

NOT_ADVICE = "TADA orders options by the priorities you stated; it is not a recommendation."


def test_the_clinic_page_renders_the_first_three_steps(client: TestClient) -> None:
    response = client.get("/clinic")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert NOT_ADVICE in html
    for step in ("Step 1 of 5", "Step 2 of 5", "Step 3 of 5", "Step 4 of 5", "Step 5 of 5"):
        assert step in html
    assert "Chronic inflammatory demyelinating polyneuropathy (CIDP) — ICD-10-CM G61.81" in html
    assert "History of blood clots (thrombosis)" in html  # risk factors in plain labels
    assert html.count('class="question"') == 15
    assert 'for="egfr"' in html


def test_every_asset_is_served_by_tada_itself(client: TestClient) -> None:
    html = client.get("/clinic").text
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references
    external = [r for r in references if not r.startswith(("/", "#", "data:"))]
    assert external == []
    for asset in ("/clinic/static/clinic.js", "/clinic/static/clinic.css"):
        assert client.get(asset).status_code == 200


def test_the_page_forbids_other_origins_by_policy(client: TestClient) -> None:
    policy = client.get("/clinic").headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_pages_own_javascript_and_css_stay_under_100_kb() -> None:
    static = files("api") / "static" / "clinic"
    total = sum(len(f.read_bytes()) for f in static.iterdir() if f.name.endswith((".js", ".css")))
    assert 0 < total < 100_000


def test_the_rendered_page_is_reused_for_the_same_catalog_version(client: TestClient) -> None:
    first = client.get("/clinic").content
    assert client.get("/clinic").content == first


def test_a_catalog_change_renders_the_page_again(client: TestClient, curator_key: str) -> None:
    before = client.get("/clinic").text
    version = client.get("/v1/catalog/version").json()["catalog_version"]
    assert f"Catalog version {version}." in before
    source = {"id": "clinic-test-2026", "citation": "A clinic test source", "kind": "other"}
    created = client.post("/v1/sources", json=source, headers={"X-API-Key": curator_key})
    assert created.status_code == 201, created.text
    after = client.get("/clinic").text
    assert f"Catalog version {version + 1}." in after
    assert "A clinic test source" in after  # sources travel with the page for "Source" links


def test_catalog_data_in_the_page_cannot_close_its_script_element(client: TestClient) -> None:
    html = client.get("/clinic").text
    data = html.split('<script type="application/json" id="page-data">', 1)[1]
    body = data.split("</script>", 1)[0]
    assert "<" not in body


def test_the_summary_form_gives_the_same_summary_as_the_api(client: TestClient) -> None:
    case = {"condition": "cidp", "patient": {"age_years": 52}, "note": "Talk again in May."}
    form = {"request": json.dumps(case), "format": "html"}
    response = client.post("/clinic/summary", data=form)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == client.post("/v1/summary", json=case).content
    assert "Talk again in May." in response.text


def test_the_summary_form_gives_a_pdf_on_request(client: TestClient) -> None:
    form = {"request": json.dumps({"condition": "cidp"}), "format": "pdf"}
    response = client.post("/clinic/summary", data=form)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_bad_summary_form_is_a_problem_naming_the_field(client: TestClient) -> None:
    form = {"request": json.dumps({"condition": "cidp", "patient": {"age_years": 200}})}
    response = client.post("/clinic/summary", data=form)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["path"] == "body/patient/age_years"
