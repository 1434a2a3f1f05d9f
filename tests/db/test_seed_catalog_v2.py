"""Clinical catalog v2 (issue 9), read from `db/catalog/seed.yaml` as plain YAML.

Every boxed warning and label contraindication the 2026-11-30 review asked for is present on
its therapy (as a named serious adverse effect and as a risk rule), the options guidelines
name at each decision point have an indication, and SCID is its own condition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

SEED = Path(__file__).resolve().parents[2] / "db" / "catalog" / "seed.yaml"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
EXCLUDED = {"not_recommended", "harmful", "no_role"}

CATALOG: dict[str, Any] = yaml.safe_load(SEED.read_text(encoding="utf-8"))
THERAPIES: dict[str, dict[str, Any]] = {t["id"]: t for t in CATALOG["therapies"]}
SOURCES: dict[str, dict[str, Any]] = {s["id"]: s for s in CATALOG["sources"]}
INDICATIONS: dict[tuple[str, str], dict[str, Any]] = {
    (i["therapy"], i["condition"]): i for i in CATALOG["indications"]
}


def serious_effects(therapy: str) -> list[dict[str, Any]]:
    return [e for e in THERAPIES[therapy]["adverse_effects"] if e.get("serious")]


def rules(therapy: str) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in THERAPIES[therapy]["risk_rules"]}


# (therapy, words in a serious adverse effect's name, rule codes that carry the label text)
BOXED_WARNINGS = [
    ("eculizumab", "meningococcal", {"meningococcal_vaccination_required"}),
    ("ravulizumab", "meningococcal", {"meningococcal_vaccination_required"}),
    ("zilucoplan", "meningococcal", {"meningococcal_vaccination_required", "pancreatitis_risk"}),
    ("rituximab", "infusion reaction", {"hbv_reactivation"}),
    ("rituximab", "hepatitis b", {"hbv_reactivation"}),
    ("rituximab", "leukoencephalopathy", set()),
    ("rituximab", "skin and mouth", set()),
    ("ocrelizumab", "hepatitis b", {"hbv_reactivation", "live_vaccine_interaction"}),
    ("ofatumumab", "hepatitis b", {"hbv_reactivation", "live_vaccine_interaction"}),
    ("ublituximab", "hepatitis b", {"hbv_reactivation", "live_vaccine_interaction"}),
    (
        "efgartigimod",
        "infections",
        {
            "active_infection",
            "live_vaccine_interaction",
            "lowers_immunoglobulin_therapy",
            "pregnancy_caution",
        },
    ),
    (
        "rozanolixizumab",
        "aseptic meningitis",
        {
            "active_infection",
            "live_vaccine_interaction",
            "lowers_immunoglobulin_therapy",
            "pregnancy_caution",
        },
    ),
    (
        "nipocalimab",
        "infections",
        {
            "active_infection",
            "live_vaccine_interaction",
            "lowers_immunoglobulin_therapy",
            "pregnancy_caution",
        },
    ),
    ("ivig", "thrombosis", {"thrombosis_risk"}),
    ("ivig", "kidney", {"renal_impairment"}),
    ("ivig", "aseptic meningitis", {"aseptic_meningitis_risk"}),
    ("scig", "thrombosis", {"thrombosis_risk"}),
    ("anti-d", "intravascular haemolysis", {"haemolysis_risk", "not_indicated_rh_negative"}),
    ("eltrombopag", "liver damage", {"hepatotoxicity", "hepatic_decompensation"}),
    ("natalizumab", "pml", {"pml_risk"}),
    ("teriflunomide", "liver damage", {"hepatotoxicity", "pregnancy_contraindication"}),
    ("teriflunomide", "unborn baby", {"pregnancy_contraindication"}),
    ("cladribine", "cancer", {"malignancy_contraindication", "pregnancy_contraindication"}),
    ("s1p-modulators", "macular oedema", {"cardiac_contraindication", "macular_oedema_risk"}),
    ("alemtuzumab", "immune thrombocytopenia", {"stroke_risk", "malignancy_risk"}),
    ("alemtuzumab", "stroke", {"stroke_risk"}),
    ("mycophenolate", "unborn baby", {"pregnancy_contraindication"}),
    ("corticosteroids", "mental health", {"psychiatric_risk"}),
    ("corticosteroids", "short course", {"live_vaccine_interaction", "hbv_reactivation"}),
    ("hsct", "death related to the transplant", set()),
    ("hsct-allogeneic", "death after the transplant", {"transplant_mortality"}),
]


@pytest.mark.parametrize(("therapy", "harm", "codes"), BOXED_WARNINGS)
def test_boxed_warning_is_a_serious_effect_and_a_rule(
    therapy: str, harm: str, codes: set[str]
) -> None:
    names = [e["name"].lower() for e in serious_effects(therapy)]
    assert any(harm in name for name in names), (therapy, harm, names)
    assert codes <= set(rules(therapy)), (therapy, codes - set(rules(therapy)))


# Label contraindications that must exclude, not merely caution.
ABSOLUTE_CONTRAINDICATIONS = [
    ("eculizumab", "meningococcal_infection_contraindication"),
    ("ravulizumab", "meningococcal_infection_contraindication"),
    ("zilucoplan", "meningococcal_infection_contraindication"),
    ("anti-d", "not_indicated_rh_negative"),
    ("anti-d", "not_indicated_splenectomy"),
    ("anti-d", "haemolysis_risk"),
    ("teriflunomide", "pregnancy_contraindication"),
    ("cladribine", "pregnancy_contraindication"),
    ("cladribine", "malignancy_contraindication"),
    ("s1p-modulators", "cardiac_contraindication"),
    ("mycophenolate", "pregnancy_contraindication"),
    ("fostamatinib", "pregnancy_contraindication"),
]


@pytest.mark.parametrize(("therapy", "code"), ABSOLUTE_CONTRAINDICATIONS)
def test_label_contraindication_is_absolute(therapy: str, code: str) -> None:
    matching = [r for r in THERAPIES[therapy]["risk_rules"] if r["code"] == code]
    assert matching
    assert all(r["severity"] == "absolute" for r in matching)


def test_a_serious_harm_without_a_number_is_named_in_words() -> None:
    """Never "0 in 100" for a serious harm: with no sourced number it carries words."""
    for therapy in THERAPIES.values():
        for effect in therapy["adverse_effects"]:
            if effect.get("serious"):
                assert effect.get("per_100") != 0, (therapy["id"], effect["name"])
                if effect.get("per_100") is None:
                    assert effect.get("frequency"), (therapy["id"], effect["name"])


def test_ivig_clot_and_meningitis_rates_are_the_corrected_per_person_figures() -> None:
    effects = {e["name"].split(" (")[0]: e for e in THERAPIES["ivig"]["adverse_effects"]}
    assert effects["Thrombosis"]["per_100"] >= 0.5
    assert "15 in 100" in effects["Thrombosis"]["frequency"]
    assert effects["Thrombosis"]["source"] == "ammann-2016-ivig-te"
    assert effects["Aseptic meningitis"]["per_100"] >= 0.6
    assert "11 in 100" in effects["Aseptic meningitis"]["frequency"]
    for effect in THERAPIES["ivig"]["adverse_effects"]:
        assert "per infusion" not in effect["name"].lower()


def test_transplants_show_treatment_related_mortality() -> None:
    auto = {e["name"]: e for e in THERAPIES["hsct"]["adverse_effects"]}
    assert auto["Death related to the transplant"]["per_100"] == 2
    assert auto["Death related to the transplant"]["source"] == "sormani-2017-ahsct-trm"
    cvid = rules("hsct-allogeneic")["transplant_mortality"]
    assert cvid["condition"] == "pi"
    assert "13 of 25" in cvid["message"]
    assert cvid["source"] == "wehr-2015-cvid-hsct"


def test_corticosteroids_carry_sourced_burden_cost_and_harms() -> None:
    steroids = THERAPIES["corticosteroids"]
    administration = steroids["administration"]
    for field in ("hours_per_session", "sessions_per_month", "needles_per_session"):
        assert administration.get(field) is not None
    assert steroids["costs"]
    assert steroids["availability"]
    quantified = [e for e in steroids["adverse_effects"] if e.get("per_100") is not None]
    assert {e["source"] for e in quantified} >= {
        "liu-2014-steroid-hyperglycaemia",
        "warrington-2006",
    }


# --- the options guidelines name at each decision point ------------------------------------

NAMED_OPTIONS = {
    "itp": {
        "corticosteroids",
        "ivig",
        "anti-d",
        "romiplostim",
        "eltrombopag",
        "avatrombopag",
        "rituximab",
        "splenectomy",
        "fostamatinib",
        "observation",
    },
    "mg": {
        "pyridostigmine",
        "corticosteroids",
        "azathioprine",
        "mycophenolate",
        "thymectomy",
        "eculizumab",
        "ravulizumab",
        "zilucoplan",
        "efgartigimod",
        "rozanolixizumab",
        "nipocalimab",
        "rituximab",
        "ivig",
        "plasma-exchange",
    },
    "mg-exacerbation": {"ivig", "plasma-exchange"},
    "ms": {
        "interferon-beta",
        "glatiramer",
        "teriflunomide",
        "dimethyl-fumarate",
        "s1p-modulators",
        "cladribine",
        "natalizumab",
        "ocrelizumab",
        "ofatumumab",
        "ublituximab",
        "alemtuzumab",
        "hsct",
    },
    "scid": {"hsct-allogeneic", "ivig", "scig"},
}


@pytest.mark.parametrize("condition", sorted(NAMED_OPTIONS))
def test_guideline_options_have_a_rankable_indication(condition: str) -> None:
    rankable = {
        t for (t, c), i in INDICATIONS.items() if c == condition and i["status"] not in EXCLUDED
    }
    assert NAMED_OPTIONS[condition] <= rankable, NAMED_OPTIONS[condition] - rankable


def test_scid_is_its_own_condition_with_transplant_first_and_immunoglobulin_as_bridge() -> None:
    scid = next(c for c in CATALOG["conditions"] if c["id"] == "scid")
    codes = {c["code"] for c in scid["codes"] if c["system"] == ICD10CM}
    assert codes == {"D81.0", "D81.1", "D81.2", "D81.31"}
    assert INDICATIONS[("hsct-allogeneic", "scid")]["status"] == "first_line"
    for bridge in ("ivig", "scig"):
        assert INDICATIONS[(bridge, "scid")]["status"] == "adjunct"
    for harmful in ("plasma-exchange", "rituximab", "efgartigimod"):
        assert INDICATIONS[(harmful, "scid")]["status"] == "harmful"
    assert "live vaccines" in scid["summary"].lower()
    assert "irradiated" in scid["summary"].lower()


def test_every_new_source_is_cited_or_says_what_to_check() -> None:
    for source in SOURCES.values():
        if source.get("verified") is False:
            assert source.get("note"), source["id"]


def test_catalog_notes_list_every_unverified_source() -> None:
    notes = (SEED.parents[2] / "docs" / "catalog-notes.md").read_text(encoding="utf-8")
    missing = [s for s, entry in SOURCES.items() if entry.get("verified") is False]
    missing = [s for s in missing if f"`{s}`" not in notes]
    assert missing == []


def test_every_cited_absence_is_listed_in_the_notes() -> None:
    notes = (SEED.parents[2] / "docs" / "catalog-notes.md").read_text(encoding="utf-8")
    for therapy in THERAPIES.values():
        if therapy.get("absences"):
            assert therapy["id"] in notes, therapy["id"]
