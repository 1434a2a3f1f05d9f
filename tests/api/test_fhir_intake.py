"""FHIR R4 intake: realistic bundles -> the derived case, mapped only through catalog codes."""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from api.fhir.codes import FhirCodeLists
from api.fhir.intake import (
    DerivedCase,
    FhirInputError,
    bundle_entries,
    convert_unit,
    derive_case,
    parse_resources,
)
from db.catalog_file import SEED_CATALOG, load_catalog_file
from db.fhir_codes import CatalogCodeRows, CodeRow, ObservationCodeRow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"
AS_OF = date(2026, 11, 24)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


@cache
def seed_codes() -> FhirCodeLists:
    """The seed catalog's code lists, without a database (same shape as db.fhir_codes)."""
    catalog = load_catalog_file(SEED_CATALOG)
    rows = CatalogCodeRows(
        version=1,
        conditions=tuple(
            CodeRow(c.id, k.system, k.code, k.display) for c in catalog.conditions for k in c.codes
        ),
        risk_factors=tuple(
            CodeRow(f.id, k.system, k.code, k.display)
            for f in catalog.risk_factors
            for k in f.codes
        ),
        therapies=tuple(
            CodeRow(t.id, k.system, k.code, k.display) for t in catalog.therapies for k in t.codes
        ),
        observations=tuple(
            ObservationCodeRow(
                attribute=a,
                unit=o.unit,
                codes=tuple(CodeRow(a, k.system, k.code, k.display) for k in o.codes),
            )
            for a, o in catalog.observation_codes.items()
        ),
    )
    return FhirCodeLists.from_rows(rows)


def load_bundle(name: str) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return bundle


def derive(bundle: dict[str, Any], **kwargs: Any) -> DerivedCase:
    entries, problems = bundle_entries(bundle)
    assert problems == []
    resources, _ = parse_resources(entries, strict=True)
    return derive_case(resources, seed_codes(), as_of=AS_OF, **kwargs)


def one_condition(code: str, system: str = ICD, **status: str) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status.get("clinical", "active"),
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
    }
    if "verification" in status:
        condition["verificationStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": status["verification"],
                }
            ]
        }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}},
            {"resource": condition},
        ],
    }


def test_cidp_on_ivig_with_falling_egfr() -> None:
    case = derive(load_bundle("cidp-ivig-falling-egfr"))
    assert case.age_years == 58
    assert case.condition_id == "cidp"
    assert [c.condition_id for c in case.conditions] == ["cidp"]  # refuted MMN not counted
    assert case.egfr is not None
    assert (case.egfr.value, case.egfr.source, case.egfr.date) == (
        24,
        "Observation/egfr-2026b",
        "2026-10-28",
    )
    assert [v.value for v in case.egfr_history] == [41, 58]  # ">60" is a bound, not a value
    assert any("egfr-2024" in n and ">60" in n for n in case.notes)
    factors = {r.risk_factor for r in case.risk_factors}
    assert {"thrombosis_history", "renal_impairment"} <= factors
    assert case.platelet_count is not None
    assert case.platelet_count.value == 221
    assert [(o.therapy_id, o.status) for o in case.orders] == [("ivig", "active")]
    assert {"igg_trough", "pregnant"} <= set(case.unknown)
    assert case.patient_case().egfr == 24


def test_child_with_primary_immunodeficiency_igg_in_g_per_l() -> None:
    case = derive(load_bundle("child-primary-immunodeficiency"))
    assert case.age_years == 7
    assert case.condition_id == "pi"
    assert case.igg_trough is not None
    assert case.igg_trough.value == pytest.approx(410)
    assert case.igg_trough.unit == "mg/dL"


def test_adult_itp_with_bleeding_and_low_platelets() -> None:
    case = derive(load_bundle("adult-itp-bleeding"))
    assert case.condition_id == "itp"
    assert case.platelet_count is not None
    assert case.platelet_count.value == 12  # the latest of 54 and 12
    assert case.pregnant is False
    assert case.pregnancy_source == "Observation/preg-status"


def test_mmn_with_heart_failure_code_below_a_catalog_header() -> None:
    case = derive(load_bundle("mmn-ivig-order"))
    assert case.condition_id == "mmn"
    assert "heart_failure" in {r.risk_factor for r in case.risk_factors}  # I50.22 under I50


@pytest.mark.parametrize(
    ("code", "condition"),
    [
        ("G35", "ms"),
        ("G35.A", "ms"),
        ("G35.B1", "ms-progressive"),
        ("G35.C2", "ms-progressive"),
        ("G35.D", "ms"),
    ],
)
def test_multiple_sclerosis_old_and_new_codes(code: str, condition: str) -> None:
    """The FY2026 codes tell progressive MS apart; the old G35 stays the relapsing default."""
    assert derive(one_condition(code)).condition_id == condition


@pytest.mark.parametrize("code", ["D84.81", "D84.821", "D84.822"])
def test_secondary_immunodeficiency_is_not_primary(code: str) -> None:
    case = derive(one_condition(code))
    assert case.conditions == []
    assert case.condition_id is None
    assert "condition" in case.unknown


@pytest.mark.parametrize("code", ["D80.1", "D81.30", "D83.9", "D84.9"])
def test_primary_immunodeficiency_codes(code: str) -> None:
    assert derive(one_condition(code)).condition_id == "pi"


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        ({"clinical": "active"}, True),
        ({"clinical": "recurrence", "verification": "confirmed"}, True),
        ({"clinical": "relapse"}, True),
        ({"clinical": "resolved"}, False),
        ({"clinical": "inactive"}, False),
        ({"clinical": "active", "verification": "provisional"}, False),
        ({"clinical": "active", "verification": "refuted"}, False),
        ({"clinical": "active", "verification": "entered-in-error"}, False),
    ],
)
def test_only_active_confirmed_conditions(status: dict[str, str], counted: bool) -> None:
    case = derive(one_condition("G61.81", **status))
    assert (case.condition_id == "cidp") is counted


def test_snomed_condition_code() -> None:
    assert derive(one_condition("128209004", "http://snomed.info/sct")).condition_id == "cidp"


@pytest.mark.parametrize(
    ("birth", "age"),
    [("1980-05-20", 46), ("1980-11-25", 45), ("1980-05", 46), ("1980", None), ("2026-11", 0)],
)
def test_age_from_full_and_partial_birth_dates(birth: str, age: int | None) -> None:
    bundle = one_condition("G61.81")
    bundle["entry"][0]["resource"]["birthDate"] = birth
    case = derive(bundle)
    assert case.age_years == age
    if age is None:
        assert "age_years" in case.unknown
        assert any("partial" in n for n in case.notes)


def _with_egfr(value_quantity: dict[str, Any], when: str = "2026-10-01") -> dict[str, Any]:
    bundle = one_condition("G61.81")
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "Observation",
                "id": "e1",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "98979-8"}]},
                "subject": {"reference": "Patient/p1"},
                "effectiveDateTime": when,
                "valueQuantity": value_quantity,
            }
        }
    )
    return bundle


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ({"value": 28, "unit": "mL/min/1.73m2"}, 28),
        ({"value": 28, "system": "http://unitsofmeasure.org", "code": "mL/min/{1.73_m2}"}, 28),
        ({"value": 28, "unit": "mmol/L"}, None),
        ({"value": 28}, None),
        ({"value": 60, "comparator": ">", "unit": "mL/min/{1.73_m2}"}, None),
    ],
)
def test_egfr_units_are_checked_never_guessed(
    quantity: dict[str, Any], expected: float | None
) -> None:
    case = derive(_with_egfr(quantity))
    assert (case.egfr.value if case.egfr else None) == expected
    if expected is None:
        assert "egfr" in case.unknown


def test_observation_after_the_as_of_date_is_set_aside() -> None:
    case = derive(_with_egfr({"value": 20, "unit": "mL/min/{1.73_m2}"}, when="2027-01-01"))
    assert case.egfr is None


def test_unit_conversion_arithmetic() -> None:
    assert convert_unit(4.1, "g/L", "mg/dL") == pytest.approx(410)
    assert convert_unit(150, "10*3/uL", "10*9/L") == 150
    assert convert_unit(150_000, "/uL", "10*9/L") == pytest.approx(150)
    assert convert_unit(1, "mg/dL", "10*9/L") is None


def test_strict_parse_names_the_resource_and_path() -> None:
    bundle = _with_egfr({"value": "lots", "unit": "mL/min/{1.73_m2}"})
    entries, _ = bundle_entries(bundle)
    with pytest.raises(FhirInputError) as info:
        parse_resources(entries, strict=True)
    problem = info.value.problems[0]
    assert problem.resource.startswith("Observation/e1")
    assert problem.path == "Observation.valueQuantity.value"


def test_lenient_parse_skips_a_bad_resource() -> None:
    bundle = copy.deepcopy(_with_egfr({"value": 30, "unit": "mL/min/{1.73_m2}"}))
    bundle["entry"].append({"resource": {"resourceType": "Observation", "id": "bad", "x": 1}})
    entries, _ = bundle_entries(bundle)
    resources, skipped = parse_resources(entries, strict=False)
    assert len(resources) == 3
    assert skipped
    assert "Observation/bad" in skipped[0]


def test_two_patients_in_one_bundle_are_refused() -> None:
    bundle = one_condition("G61.81")
    bundle["entry"].append({"resource": {"resourceType": "Patient", "id": "p2"}})
    with pytest.raises(FhirInputError):
        derive(bundle)


def test_resources_about_another_patient_are_set_aside() -> None:
    bundle = one_condition("G61.81")
    bundle["entry"][1]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    case = derive(bundle, patient_id="p1")
    assert case.condition_id is None
    assert any("someone-else" in n for n in case.notes)
