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


# --- who comes first and who waits, per condition and decision point ---------------------


def later_ids(result: dict[str, Any]) -> set[str]:
    return {entry["therapy_id"] for entry in result["later"]}


def test_itp_newly_diagnosed_adult_starts_with_steroids_and_second_line_waits(
    client: TestClient,
) -> None:
    """ASH 2019: adults with newly diagnosed ITP and platelets below 30: corticosteroids;
    TPO receptor agonists, rituximab, fostamatinib and splenectomy are for ITP lasting 3
    months or more after steroids; anti-D when steroids cannot be used."""
    result = score(
        client,
        {
            "condition": "itp",
            "patient": {
                "age_years": 45,
                "platelet_count": 20,
                "phase": "newly_diagnosed",
                "prior_treatments": [],
            },
        },
    )
    assert ranked_ids(result)[0] == "corticosteroids"
    assert "observation" not in ranked_ids(result)
    waiting = {"romiplostim", "eltrombopag", "avatrombopag", "fostamatinib", "splenectomy"}
    assert waiting | {"rituximab", "anti-d"} <= later_ids(result)


def test_itp_chronic_after_steroids_ranks_tpo_receptor_agonists(client: TestClient) -> None:
    result = score(
        client,
        {
            "condition": "itp",
            "patient": {
                "age_years": 45,
                "phase": "chronic",
                "prior_treatments": [
                    {"therapy_id": "corticosteroids", "outcome": "inadequate_response"}
                ],
            },
        },
    )
    ranked = ranked_ids(result)
    assert {"romiplostim", "eltrombopag", "avatrombopag", "fostamatinib", "splenectomy"} <= set(
        ranked
    )
    assert "corticosteroids" not in ranked
    # A TPO receptor agonist comes before splenectomy (ASH 2019: delay splenectomy).
    assert ranked.index("romiplostim") < ranked.index("splenectomy")


def test_itp_persistent_phase_keeps_fostamatinib_and_splenectomy_for_chronic_itp(
    client: TestClient,
) -> None:
    result = score(
        client,
        {
            "condition": "itp",
            "patient": {
                "age_years": 45,
                "phase": "persistent",
                "prior_treatments": [
                    {"therapy_id": "corticosteroids", "outcome": "inadequate_response"}
                ],
            },
        },
    )
    assert {"romiplostim", "eltrombopag"} <= set(ranked_ids(result))
    assert {"fostamatinib", "splenectomy"} <= later_ids(result)


def test_child_with_itp_sees_observation_first_and_no_adult_only_drug(client: TestClient) -> None:
    result = score(
        client,
        {
            "condition": "itp",
            "patient": {"age_years": 7, "phase": "chronic", "prior_treatments": []},
        },
    )
    assert ranked_ids(result)[0] == "observation"
    assert "age_label_limit" in excluded_codes(result, "fostamatinib")


def test_mg_treatment_naive_achr_starts_with_symptomatic_steroid_and_thymectomy(
    client: TestClient,
) -> None:
    result = score(
        client,
        {
            "condition": "mg",
            "patient": {"age_years": 40, "antibody_status": "achr", "prior_treatments": []},
        },
    )
    assert set(ranked_ids(result)) == {"pyridostigmine", "corticosteroids", "thymectomy"}
    biologics = {
        "eculizumab",
        "ravulizumab",
        "zilucoplan",
        "efgartigimod",
        "rozanolixizumab",
        "nipocalimab",
    }
    assert biologics | {"azathioprine", "mycophenolate"} <= later_ids(result)


def test_mg_on_steroids_can_add_a_steroid_sparing_agent(client: TestClient) -> None:
    result = score(
        client,
        {
            "condition": "mg",
            "patient": {
                "age_years": 40,
                "antibody_status": "achr",
                "prior_treatments": [
                    {"therapy_id": "corticosteroids", "outcome": "responded", "ongoing": True}
                ],
            },
        },
    )
    assert {"azathioprine", "mycophenolate"} <= set(ranked_ids(result))


def test_mg_refractory_musk_never_ranks_achr_only_biologics(client: TestClient) -> None:
    """Complement inhibitors and efgartigimod: AChR-positive only; rozanolixizumab and
    nipocalimab: AChR or MuSK; thymectomy is not used for MuSK MG."""
    result = score(
        client,
        {
            "condition": "mg",
            "patient": {
                "age_years": 40,
                "antibody_status": "musk",
                "prior_treatments": [
                    {"therapy_id": "corticosteroids", "outcome": "inadequate_response"}
                ],
            },
        },
    )
    ranked = set(ranked_ids(result))
    assert {"rozanolixizumab", "nipocalimab", "rituximab"} <= ranked
    for therapy in ("eculizumab", "ravulizumab", "zilucoplan", "efgartigimod"):
        assert therapy not in ranked
        assert "antibody_label_limit" in excluded_codes(result, therapy)
    assert "antibody_not_studied" in excluded_codes(result, "thymectomy")


def test_mg_seronegative_has_no_labelled_biologic(client: TestClient) -> None:
    result = score(
        client,
        {
            "condition": "mg",
            "patient": {
                "age_years": 40,
                "antibody_status": "seronegative",
                "prior_treatments": [
                    {"therapy_id": "corticosteroids", "outcome": "inadequate_response"}
                ],
            },
        },
    )
    for therapy in ("rozanolixizumab", "nipocalimab", "ravulizumab", "efgartigimod"):
        assert therapy not in ranked_ids(result)


def test_relapsing_ms_treatment_naive_ranks_platform_and_anti_cd20_and_the_rest_waits(
    client: TestClient,
) -> None:
    result = score(
        client, {"condition": "ms", "patient": {"age_years": 30, "prior_treatments": []}}
    )
    ranked = set(ranked_ids(result))
    assert {
        "interferon-beta",
        "glatiramer",
        "teriflunomide",
        "dimethyl-fumarate",
        "s1p-modulators",
        "ocrelizumab",
        "ofatumumab",
        "ublituximab",
    } <= ranked
    assert {"cladribine", "natalizumab", "alemtuzumab", "hsct"} <= later_ids(result)


def test_relapsing_ms_breakthrough_on_a_platform_drug_opens_the_next_step(
    client: TestClient,
) -> None:
    result = score(
        client,
        {
            "condition": "ms",
            "patient": {
                "age_years": 30,
                "prior_treatments": [
                    {"therapy_id": "interferon-beta", "outcome": "inadequate_response"}
                ],
            },
        },
    )
    ranked = set(ranked_ids(result))
    assert {"cladribine", "natalizumab", "alemtuzumab", "hsct"} <= ranked
    assert "interferon-beta" not in ranked


def test_scid_infant_sees_the_transplant_first_and_immunoglobulin_as_its_bridge(
    client: TestClient,
) -> None:
    result = score(
        client,
        {
            "condition": "scid",
            "patient": {"age_years": 0.3, "weight_kg": 5.5, "prior_treatments": []},
        },
    )
    assert ranked_ids(result) == ["hsct-allogeneic"]
    assert {"ivig", "scig"} <= later_ids(result)
    for therapy in ("plasma-exchange", "rituximab", "efgartigimod"):
        assert "harmful" in excluded_codes(result, therapy)
    figures = option(result, "hsct-allogeneic")["outcome_figures"]
    assert any(f["events"] == 87 and f["per"] == 100 for f in figures)


def test_scid_codes_reach_the_scid_condition(client: TestClient) -> None:
    for code in ("D81.0", "D81.1", "D81.2", "D81.31"):
        coding = {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}
        result = score(client, {"condition": coding, "patient": {"age_years": 0.5}})
        assert result["condition"]["id"] == "scid", code
    other = {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D83.9"}
    assert score(client, {"condition": other})["condition"]["id"] == "pi"


def test_adult_cvid_sees_the_transplant_mortality(client: TestClient) -> None:
    result = score(
        client,
        {
            "condition": "pi",
            "patient": {
                "age_years": 35,
                "prior_treatments": [{"therapy_id": "ivig", "outcome": "inadequate_response"}],
            },
        },
    )
    cautions = {c["code"]: c for c in option(result, "hsct-allogeneic")["cautions"]}
    assert "13 of 25" in cautions["transplant_mortality"]["message"]


# --- costs follow the dose -----------------------------------------------------------------


def annual_cost_text(result: dict[str, Any], therapy: str) -> str:
    return str(option(result, therapy)["criteria"]["cost"]["explanation"])


def test_immunoglobulin_cost_follows_the_weight(client: TestClient) -> None:
    """The review found IVIG cost the same for a 5.5 kg infant as for an adult."""
    infant = score(client, {"condition": "pi", "patient": {"age_years": 0.5, "weight_kg": 5.5}})
    adult = score(client, {"condition": "pi", "patient": {"age_years": 40, "weight_kg": 70}})
    for therapy in ("ivig", "scig"):
        small = option(infant, therapy)["criteria"]["cost"]["value"]
        large = option(adult, therapy)["criteria"]["cost"]["value"]
        assert small > large, therapy
        assert "5.5 kg" in annual_cost_text(infant, therapy)
        assert "70 kg" in annual_cost_text(adult, therapy)
    # 70 kg x 0.5 g/kg x 151 USD/g x 14.4 a year = about 76,104 USD a year.
    assert "76,104 USD" in annual_cost_text(adult, "ivig")
    # 5.5 kg: about 5,980 USD a year.
    assert "5,980 USD" in annual_cost_text(infant, "ivig")


def test_unknown_weight_gives_a_cost_caution_not_a_price(client: TestClient) -> None:
    result = score(client, {"condition": "pi", "patient": {"age_years": 40}})
    ivig = option(result, "ivig")
    assert "cost_needs_weight" in {c["code"] for c in ivig["cautions"]}
    assert ivig["criteria"]["cost"]["value"] == 0.5


def test_weight_based_budget_excludes_the_adult_but_not_the_infant(client: TestClient) -> None:
    preferences = {"region": "US", "max_annual_cost": 20000}
    infant = score(
        client,
        {
            "condition": "pi",
            "patient": {"age_years": 0.5, "weight_kg": 5.5},
            "preferences": preferences,
        },
    )
    adult = score(
        client,
        {
            "condition": "pi",
            "patient": {"age_years": 40, "weight_kg": 70},
            "preferences": preferences,
        },
    )
    assert "ivig" in ranked_ids(infant)
    assert "over_budget" in excluded_codes(adult, "ivig")
