"""Clinical catalog v2 (issue 9) through POST /v1/score: label warnings wherever a therapy is
ranked, label contraindications that exclude, and options that no longer rank on missing data.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

EXCLUDED_STATUSES = {"not_recommended", "harmful", "no_role"}


def score(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ranked_ids(result: dict[str, Any]) -> list[str]:
    return [option["therapy_id"] for option in result["ranked"]]


def option(result: dict[str, Any], therapy_id: str) -> dict[str, Any]:
    return next(o for o in result["ranked"] if o["therapy_id"] == therapy_id)


def excluded_codes(result: dict[str, Any], therapy_id: str) -> set[str]:
    for exclusion in result["excluded"]:
        if exclusion["therapy_id"] == therapy_id:
            return {r["code"] for r in exclusion["reasons"]}
    return set()


def ranked_conditions(client: TestClient, therapy: str) -> list[str]:
    items = client.get(f"/v1/indications?therapy={therapy}").json()["items"]
    return sorted(i["condition"] for i in items if i["status"] not in EXCLUDED_STATUSES)


# (therapy, risk factor that triggers the label warning, caution code)
LABEL_CAUTIONS = [
    ("eculizumab", "meningococcal_vaccination_incomplete", "meningococcal_vaccination_required"),
    ("ravulizumab", "meningococcal_vaccination_incomplete", "meningococcal_vaccination_required"),
    ("zilucoplan", "meningococcal_vaccination_incomplete", "meningococcal_vaccination_required"),
    ("efgartigimod", "active_infection", "active_infection"),
    ("efgartigimod", "live_vaccine_planned", "live_vaccine_interaction"),
    ("efgartigimod", "on_immunoglobulin_therapy", "lowers_immunoglobulin_therapy"),
    ("rozanolixizumab", "on_immunoglobulin_therapy", "lowers_immunoglobulin_therapy"),
    ("nipocalimab", "on_immunoglobulin_therapy", "lowers_immunoglobulin_therapy"),
    ("rozanolixizumab", "live_vaccine_planned", "live_vaccine_interaction"),
    ("nipocalimab", "live_vaccine_planned", "live_vaccine_interaction"),
    ("ocrelizumab", "live_vaccine_planned", "live_vaccine_interaction"),
    ("ivig", "migraine_history", "aseptic_meningitis_risk"),
    ("ivig", "diabetes", "glucose_meter_interference"),
    ("eltrombopag", "liver_disease", "hepatotoxicity"),
    ("natalizumab", "jcv_antibody_positive", "pml_risk"),
    ("corticosteroids", "live_vaccine_planned", "live_vaccine_interaction"),
    ("corticosteroids", "diabetes", "hyperglycaemia_risk"),
]


@pytest.mark.parametrize(("therapy", "factor", "code"), LABEL_CAUTIONS)
def test_label_warning_cautions_wherever_the_therapy_is_ranked(
    client: TestClient, therapy: str, factor: str, code: str
) -> None:
    conditions = ranked_conditions(client, therapy)
    assert conditions
    shown = 0
    for condition in conditions:
        result = score(
            client, {"condition": condition, "patient": {"age_years": 40, "risk_factors": [factor]}}
        )
        if therapy not in ranked_ids(result):
            continue  # waits for a later decision point, or another rule excludes it
        cautions = {c["code"]: c for c in option(result, therapy)["cautions"]}
        assert code in cautions, (therapy, condition, sorted(cautions))
        assert cautions[code]["source"]
        shown += 1
    assert shown


# (therapy, condition, patient, exclusion code)
LABEL_EXCLUSIONS = [
    (
        "eculizumab",
        "mg",
        {"risk_factors": ["meningococcal_infection_unresolved"]},
        "meningococcal_infection_contraindication",
    ),
    ("anti-d", "itp", {"risk_factors": ["rh_negative"]}, "not_indicated_rh_negative"),
    ("anti-d", "itp", {"risk_factors": ["splenectomised"]}, "not_indicated_splenectomy"),
    ("anti-d", "itp", {"risk_factors": ["haemoglobin_below_8"]}, "haemolysis_risk"),
    ("teriflunomide", "ms", {"pregnant": True}, "pregnancy_contraindication"),
    ("cladribine", "ms", {"risk_factors": ["current_malignancy"]}, "malignancy_contraindication"),
    (
        "s1p-modulators",
        "ms",
        {"risk_factors": ["heart_conduction_block"]},
        "cardiac_contraindication",
    ),
    ("mycophenolate", "mg", {"pregnant": True}, "pregnancy_contraindication"),
    ("fostamatinib", "itp", {"age_years": 12}, "age_label_limit"),
    ("zilucoplan", "mg", {"age_years": 15}, "age_label_limit"),
    ("nipocalimab", "mg", {"age_years": 10}, "age_label_limit"),
]


@pytest.mark.parametrize(("therapy", "condition", "patient", "code"), LABEL_EXCLUSIONS)
def test_label_contraindication_excludes(
    client: TestClient, therapy: str, condition: str, patient: dict[str, Any], code: str
) -> None:
    result = score(client, {"condition": condition, "patient": {"age_years": 40, **patient}})
    assert therapy not in ranked_ids(result)
    assert code in excluded_codes(result, therapy)


def test_corticosteroids_no_longer_rank_on_missing_data(client: TestClient) -> None:
    """The review found steroids took the middle value on four of six criteria."""
    for condition in ("itp", "mg", "cidp", "ms-relapse"):
        result = score(client, {"condition": condition, "patient": {"age_years": 45}})
        steroids = option(result, "corticosteroids")
        codes = {c["code"] for c in steroids["cautions"]}
        assert not codes & {"safety_data_missing", "burden_unknown", "cost_unknown"}, codes
        assert "availability_unknown" not in codes


def test_eculizumab_shows_its_meningococcal_warning_even_without_patient_facts(
    client: TestClient,
) -> None:
    response = client.get("/v1/therapies/eculizumab")
    assert response.status_code == 200
    effects = [e["name"].lower() for e in response.json()["adverse_effects"] if e["serious"]]
    assert any("meningococcal" in name for name in effects)
