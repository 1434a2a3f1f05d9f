"""The seed catalog file itself: the article's facts, sources, required content and codes.

These tests read `db/catalog/seed.yaml` as plain YAML (no database, no pydantic), so a curator
who breaks a fact, a citation or a code list sees exactly which one. Every fact of the patient
article (`shared/seed/ivig-therapy-article.txt`) is listed below with the place in the catalog
where a reader will find it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SEED = Path(__file__).resolve().parents[2] / "db" / "catalog" / "seed.yaml"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
EXCLUDED = {"not_recommended", "harmful", "no_role"}


def _load() -> dict[str, Any]:
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


CATALOG = _load()
THERAPIES: dict[str, dict[str, Any]] = {t["id"]: t for t in CATALOG["therapies"]}
CONDITIONS: dict[str, dict[str, Any]] = {c["id"]: c for c in CATALOG["conditions"]}
SOURCES: dict[str, dict[str, Any]] = {s["id"]: s for s in CATALOG["sources"]}
INDICATIONS: dict[tuple[str, str], dict[str, Any]] = {
    (i["therapy"], i["condition"]): i for i in CATALOG["indications"]
}


# --- (a) every fact of the patient article, and where it lives ---------------------------


def _figure_text(figure: dict[str, Any]) -> str:
    parts = [figure["measure"], figure["population"], figure["time_frame"]]
    per = figure["per"]
    parts.append(f"{figure['events'] * 100 / per:g} per 100")
    comparator = figure.get("comparator")
    if comparator is not None:
        parts.append(f"{figure['events'] * 100 / per:g} vs {comparator['events'] * 100 / per:g}")
        parts.append(str(comparator["label"]))
    return " | ".join(parts)


def place_text(owner: str, place: str) -> str:
    """The text of one place in the catalog: `summary`, `administration`, `home_rule`,
    `adverse_effects`, `figures` (of the therapy's indications), `notes` or `care_settings`."""
    if owner in CONDITIONS and place == "summary":
        return str(CONDITIONS[owner].get("summary", ""))
    therapy = THERAPIES[owner]
    if place == "summary":
        return str(therapy["summary"])
    if place == "administration":
        admin = therapy["administration"]
        return f"{admin.get('text', '')} | range {admin.get('hours_per_session_range')}"
    if place == "home_rule":
        rule = therapy.get("home_rule") or {}
        return f"{rule.get('text', '')} | after {rule.get('after_supervised_infusions')}"
    if place == "adverse_effects":
        return "\n".join(
            f"{e['name']} | {e['timing']} | {e.get('frequency', '')}"
            for e in therapy["adverse_effects"]
        )
    if place == "figures":
        return "\n".join(
            _figure_text(f)
            for (t, _), indication in INDICATIONS.items()
            if t == owner
            for f in indication.get("figures", [])
        )
    if place == "notes":
        return "\n".join(str(i.get("note", "")) for (t, _), i in INDICATIONS.items() if t == owner)
    if place == "care_settings":
        return " ".join(therapy["care_settings"])
    raise AssertionError(f"unknown place {place}")


ARTICLE_FACTS: list[tuple[str, str, str, str]] = [
    # (fact, therapy or condition id, place, regex that must match, case-insensitive)
    ("IVIG is made from donated blood plasma", "ivig", "summary", r"donated blood plasma"),
    ("made from thousands of healthy donors", "ivig", "summary", r"thousands of healthy donors"),
    ("most makers use tens of thousands of donors", "ivig", "summary", r"tens of thousands"),
    ("IVIG is a biologic drug", "ivig", "summary", r"biologic"),
    ("immunoglobulins are antibodies", "ivig", "summary", r"antibodies \(immunoglobulins\)"),
    (
        "used for PI in adults and children 2 and older",
        "ivig",
        "summary",
        r"primary immunodeficiency \(PI\) in adults and children 2 years and older",
    ),
    ("used for MMN", "ivig", "summary", r"multifocal motor neuropathy"),
    ("used for CIDP", "ivig", "summary", r"chronic inflammatory demyelinating polyneuropathy"),
    (
        "used for ITP in adults and children",
        "ivig",
        "summary",
        r"immune thrombocytopenia \(ITP\) in adults and children",
    ),
    ("standard therapy for most of these conditions", "ivig", "summary", r"standard treatment"),
    ("generally well tolerated", "ivig", "summary", r"well tolerated"),
    ("given in hospital", "ivig", "care_settings", r"\bhospital\b"),
    (
        "given in an infusion centre / outpatient clinic",
        "ivig",
        "care_settings",
        r"infusion_center",
    ),
    ("given at home", "ivig", "care_settings", r"\bhome\b"),
    (
        "outpatient clinic, provider's office or home",
        "ivig",
        "summary",
        r"clinic or doctor's office, or at home with a nurse",
    ),
    (
        "home after three or four successful supervised infusions",
        "ivig",
        "home_rule",
        r"three or four successful infusions in a supervised setting.*after 3",
    ),
    ("home infusions supervised by a nurse", "ivig", "home_rule", r"home nurse"),
    ("IV line usually in the arm", "ivig", "administration", r"IV line, usually in your arm"),
    (
        "a prick and a bit of pain, otherwise pain free",
        "ivig",
        "administration",
        r"prick and a bit of pain.*pain free",
    ),
    (
        "an infusion takes one to four hours",
        "ivig",
        "administration",
        r"one to four hours \(1-4 h\)",
    ),
    ("hours range 1-4 recorded", "ivig", "administration", r"range \[1(\.0)?, 4(\.0)?\]"),
    (
        "starts slowly, especially when new to IVIG",
        "ivig",
        "administration",
        r"starts slowly, especially if you are new",
    ),
    (
        "faster rate makes side effects more likely",
        "ivig",
        "administration",
        r"more likely at a faster rate",
    ),
    (
        "rate increased at intervals of about 30 minutes to an hour",
        "ivig",
        "administration",
        r"intervals of about 30 minutes to an hour",
    ),
    (
        "later infusions take one to two hours",
        "ivig",
        "administration",
        r"one to two hours \(1-2 h\)",
    ),
    ("bring a book or phone", "ivig", "administration", r"book or your phone"),
    (
        "given about every 3-4 weeks / once every few weeks",
        "ivig",
        "summary",
        r"every 3-4 weeks \(once every few weeks\)",
    ),
    ("many people are on IVIG indefinitely", "ivig", "summary", r"indefinitely"),
    (
        "immediate side effects within the first 30-60 minutes",
        "ivig",
        "adverse_effects",
        r"first 30 minutes to an hour",
    ),
    (
        "immediate side effects settle when slowed or stopped",
        "ivig",
        "adverse_effects",
        r"settles when the infusion is slowed or stopped",
    ),
    ("flushing", "ivig", "adverse_effects", r"^Flushing \| immediate"),
    ("headache", "ivig", "adverse_effects", r"^Headache \| immediate"),
    ("malaise", "ivig", "adverse_effects", r"^Malaise"),
    ("fever", "ivig", "adverse_effects", r"^Fever \| immediate"),
    ("chills", "ivig", "adverse_effects", r"^Chills \| immediate"),
    ("fatigue", "ivig", "adverse_effects", r"^Fatigue \| immediate"),
    ("lethargy", "ivig", "adverse_effects", r"^Lethargy \| immediate"),
    (
        "side effects possible at first and later infusions, hence supervision",
        "ivig",
        "administration",
        r"first infusion or later ones, which is why infusions are supervised",
    ),
    ("delayed: kidney impairment", "ivig", "adverse_effects", r"^Kidney impairment.*\| delayed"),
    ("delayed: thrombosis", "ivig", "adverse_effects", r"^Thrombosis.*\| delayed"),
    ("delayed: arrhythmia", "ivig", "adverse_effects", r"^Arrhythmia.*\| delayed"),
    ("delayed: aseptic meningitis", "ivig", "adverse_effects", r"^Aseptic meningitis.*\| delayed"),
    ("delayed: hemolytic anemia", "ivig", "adverse_effects", r"^Hemolytic anemia.*\| delayed"),
    ("delayed: lung injury", "ivig", "adverse_effects", r"^Lung injury.*\| delayed"),
    (
        "anaphylaxis: chest tightness or difficulty breathing",
        "ivig",
        "administration",
        r"chest tightness or difficulty breathing",
    ),
    (
        "anaphylaxis: swelling of tongue or face",
        "ivig",
        "administration",
        r"swelling of your tongue or face",
    ),
    ("anaphylaxis: skin rash", "ivig", "administration", r"rash"),
    (
        "anaphylaxis: sudden drop in blood pressure",
        "ivig",
        "administration",
        r"sudden drop in blood pressure \(feeling faint or light-headed\)",
    ),
    (
        "prescriber orders reaction medicines",
        "ivig",
        "administration",
        r"prescriber usually also orders medicines for infusion reactions",
    ),
    (
        "home nurse follows a reaction protocol",
        "ivig",
        "administration",
        r"home nurse follows a protocol",
    ),
    (
        "reaction medicines epinephrine and diphenhydramine",
        "ivig",
        "administration",
        r"EpiPen \(epinephrine\).*Benadryl \(diphenhydramine\)",
    ),
    (
        "call emergency services if the reaction does not resolve",
        "ivig",
        "administration",
        r"call emergency services",
    ),
    (
        "premedication and slowing reduce side effects",
        "ivig",
        "administration",
        r"premedication.*slowing the infusion",
    ),
    (
        "PI study: 2 in 100 had one serious bacterial infection (pneumonia) over 1 year",
        "ivig",
        "figures",
        r"serious bacterial infection.*pneumonia.*every 3-4 weeks.*1 year.*\| 2 per 100",
    ),
    (
        "PI study: 22 in 100 infusions had mild or moderate side effects, mostly headache",
        "ivig",
        "notes",
        r"infusions with mild or moderate side effects \(most often headache\)"
        r": 22 per 100 infusions",
    ),
    (
        "PI study: more than 98 in 100 infusions completed without stopping or slowing",
        "ivig",
        "notes",
        r"infusions completed without stopping or slowing.*more than 98 per 100 infusions",
    ),
    (
        "CIDP study: disability improved 54 vs 21 in 100 at 24 weeks, IVIG or placebo q3w",
        "ivig",
        "figures",
        r"improved disability.*every 3 weeks.*24 weeks.*54 vs 21 \| placebo",
    ),
    (
        "CIDP study: included muscle and grip strength",
        "ivig",
        "figures",
        r"muscle strength and grip strength",
    ),
    (
        "CIDP study: 60 in 100 had full benefit after six weeks",
        "ivig",
        "figures",
        r"full benefit.*6 weeks \| 60 per 100",
    ),
    (
        "CIDP study: better physical and social functioning and mental health",
        "ivig",
        "notes",
        r"physical and social functioning and mental health",
    ),
    (
        "people look for alternatives because of cost, logistics or shortages",
        "ivig",
        "summary",
        r"cost, practical hassle \(logistics\) or shortages",
    ),
    (
        "alternative: monoclonal antibodies such as rituximab, lab-made copies of antibodies",
        "rituximab",
        "summary",
        r"monoclonal antibody: a protein made in a lab that copies",
    ),
    (
        "alternative: HSCT, a type of bone marrow transplant from a healthy donor",
        "hsct-allogeneic",
        "summary",
        r"bone marrow transplant.*from a healthy donor",
    ),
    (
        "HSCT: stem cells make all other blood cells and can fix the immune system",
        "hsct-allogeneic",
        "summary",
        r"Stem cells make all other blood cells.*fix the immune",
    ),
    (
        "hsct id also describes a bone marrow transplant",
        "hsct",
        "summary",
        r"bone marrow transplant",
    ),
    (
        "alternative: plasma exchange, also called plasmapheresis",
        "plasma-exchange",
        "summary",
        r"plasma exchange \(also called plasmapheresis\)",
    ),
    (
        "plasma exchange: plasma replaced, sometimes with donor plasma",
        "plasma-exchange",
        "summary",
        r"donor plasma",
    ),
    (
        "plasma exchange: efficacy comparable to IVIG for most indications",
        "plasma-exchange",
        "summary",
        r"work about as well as IVIG",
    ),
    (
        "plasma exchange: IVIG often considered more convenient",
        "plasma-exchange",
        "summary",
        r"IVIG is often considered more convenient",
    ),
    (
        "alternative: SCIG, very similar to IVIG but under the skin",
        "scig",
        "summary",
        r"very similar to IVIG.*under the skin",
    ),
    (
        "SCIG: equal or better results, fewer side effects",
        "scig",
        "summary",
        r"equal or better results compared with IVIG, with fewer side effects",
    ),
    (
        "SCIG: often done at home rather than an infusion centre",
        "scig",
        "summary",
        r"at home rather than in an infusion centre",
    ),
    (
        "PI raises the risk and severity of infections",
        "pi",
        "summary",
        r"risk and severity of infections",
    ),
    (
        "PI serious bacterial infections: pneumonia, bacteremia, meningitis, osteomyelitis",
        "pi",
        "summary",
        r"pneumonia.*bacteremia.*meningitis.*osteomyelitis",
    ),
    (
        "MMN: rare immune disorder, muscles shrink and weaken; IVIG improves strength",
        "mmn",
        "summary",
        r"rare immune-mediated.*weaken and shrink.*improve muscle strength",
    ),
    (
        "CIDP: immune response damages myelin sheaths; weakness and impaired sensation",
        "cidp",
        "summary",
        r"myelin sheaths.*weakness and loss of feeling in the arms and legs",
    ),
    (
        "ITP: immune system destroys platelets; bruising and bleeding; adults and children",
        "itp",
        "summary",
        r"destroys the body's own platelets.*bruising and bleeding.*adults and",
    ),
]


@pytest.mark.parametrize(
    ("fact", "owner", "place", "pattern"),
    ARTICLE_FACTS,
    ids=[fact for fact, *_ in ARTICLE_FACTS],
)
def test_article_fact_is_in_the_catalog(fact: str, owner: str, place: str, pattern: str) -> None:
    assert owner in THERAPIES or owner in CONDITIONS, f"{owner} is missing"
    text = place_text(owner, place)
    assert re.search(pattern, text, re.IGNORECASE | re.MULTILINE | re.DOTALL), (
        f"{fact!r}: /{pattern}/ not found in {owner}.{place}:\n{text}"
    )


def test_the_article_is_a_source() -> None:
    article = SOURCES["article-ivig-2024"]
    assert article["kind"] == "article"
    assert "IVIG Therapy: How It Works and What to Expect (2024)" in article["citation"]


def test_home_rule_counts_three_supervised_infusions() -> None:
    home_rule = THERAPIES["ivig"]["home_rule"]
    assert home_rule["after_supervised_infusions"] == 3
    assert "three or four" in home_rule["text"]


# --- (b) every statement names a source that exists ---------------------------------------


def cited() -> Iterator[tuple[str, str]]:
    yield "scales", CATALOG["scales"]["source"]
    for condition in CATALOG["conditions"]:
        yield f"condition {condition['id']}", condition["source"]
    for therapy in CATALOG["therapies"]:
        where = f"therapy {therapy['id']}"
        yield where, therapy["source"]
        yield f"{where} administration", therapy["administration"]["source"]
        if therapy.get("home_rule"):
            yield f"{where} home_rule", therapy["home_rule"]["source"]
        for part in ("adverse_effects", "risk_rules", "costs", "availability"):
            for n, item in enumerate(therapy.get(part, [])):
                yield f"{where} {part}[{n}]", item.get("source")
    for indication in CATALOG["indications"]:
        where = f"indication {indication['therapy']}/{indication['condition']}"
        yield where, indication.get("source")
        for n, figure in enumerate(indication.get("figures", [])):
            yield f"{where} figures[{n}]", figure.get("source")


CITED = list(cited())


@pytest.mark.parametrize(("where", "source"), CITED, ids=[where for where, _ in CITED])
def test_every_statement_names_an_existing_source(where: str, source: str | None) -> None:
    assert source, f"{where} names no source"
    assert source in SOURCES, f"{where} names unknown source {source!r}"


def test_sources_are_unique_and_unverified_ones_say_what_to_check() -> None:
    ids = [s["id"] for s in CATALOG["sources"]]
    assert len(ids) == len(set(ids))
    for source in CATALOG["sources"]:
        assert source["citation"].strip()
        if source.get("verified") is False:
            assert source.get("note"), f"{source['id']} is unverified but has no note"


def test_value_scales_source() -> None:
    scales_source = SOURCES[CATALOG["scales"]["source"]]
    assert scales_source["id"] == "tada-value-scales"
    assert scales_source["kind"] == "other"
    assert scales_source["verified"] is True


# --- (c) required therapies and conditions -------------------------------------------------

REQUIRED_THERAPIES = [
    "ivig",
    "scig",
    "plasma-exchange",
    "hsct",
    "rituximab",
    "corticosteroids",
    "efgartigimod",
    "ocrelizumab",
    "observation",
]
REQUIRED_CONDITIONS = [
    "pi",
    "cidp",
    "mmn",
    "itp",
    "ms",
    "gbs",
    "mg",
    "ms-progressive",
    "mg-exacerbation",
]


@pytest.mark.parametrize("therapy_id", REQUIRED_THERAPIES)
def test_required_therapy_exists(therapy_id: str) -> None:
    assert therapy_id in THERAPIES


@pytest.mark.parametrize("condition_id", REQUIRED_CONDITIONS)
def test_required_condition_exists_with_icd10_code(condition_id: str) -> None:
    systems = {c["system"] for c in CONDITIONS[condition_id]["codes"]}
    assert ICD10CM in systems


def test_observation_is_watchful_waiting_without_cost() -> None:
    observation = THERAPIES["observation"]
    assert observation["modality"] == "observation"
    assert observation["route"] == "none"
    assert observation["costs"]
    assert all(c["amount"] == 0 for c in observation["costs"])
    indicated = {c for (t, c), i in INDICATIONS.items() if t == "observation"}
    assert indicated == {"itp"}, "observation only where a guideline names it"


# --- (d) harmful and ineffective pairs from clinical-reference.md --------------------------

EXCLUDED_PAIRS = [
    # (therapy, condition, clinical-reference row)
    ("plasma-exchange", "pi", "row 6: removes IgG, no role"),
    ("rituximab", "pi", "row 9: harmful as a substitute for Ig"),
    ("efgartigimod", "pi", "row 10: FcRn blockers lower IgG"),
    ("plasma-exchange", "mmn", "row 14: no response, worsening reported"),
    ("corticosteroids", "mmn", "row 15: worsening reported"),
    ("rituximab", "mmn", "row 16: no proven benefit"),
    ("hsct", "mmn", "row 17: no data"),
    ("scig", "itp", "row 30: no evidence for acute use"),
    ("plasma-exchange", "itp", "row 31: not an ASH 2019 option"),
    ("ivig", "ms", "row 35: ineffective"),
    ("ivig", "ms-relapse", "row 35: relapse add-on ineffective"),
    ("ivig", "ms-progressive", "row 35: ineffective in progressive MS"),
    ("plasma-exchange", "ms-progressive", "row 55: should not be offered (AAN Level A)"),
    ("plasma-exchange", "ms", "row 55: relapse rescue, not long-term treatment"),
    ("corticosteroids", "ms", "row 55: relapse treatment, not long-term treatment"),
    ("scig", "ms", "row 36: no role"),
    ("corticosteroids", "gbs", "row 46: steroids alone ineffective"),
    ("rituximab", "gbs", "row 47: experimental"),
    ("eculizumab", "gbs", "row 47: not outside trials"),
    ("hsct", "gbs", "row 48: no role"),
    ("scig", "gbs", "row 48: no role"),
]


@pytest.mark.parametrize(
    ("therapy", "condition", "why"),
    EXCLUDED_PAIRS,
    ids=[f"{t}/{c}" for t, c, _ in EXCLUDED_PAIRS],
)
def test_harmful_or_ineffective_pair_is_recorded(therapy: str, condition: str, why: str) -> None:
    indication = INDICATIONS.get((therapy, condition))
    assert indication is not None, f"{therapy}/{condition} missing ({why})"
    assert indication["status"] in EXCLUDED, (why, indication["status"])
    assert indication["source"] in SOURCES


@pytest.mark.parametrize(
    ("therapy", "condition", "status", "text"),
    [
        ("plasma-exchange", "pi", "harmful", r"removes"),
        ("plasma-exchange", "ms-relapse", "second_line", r"should not be offered.*progressive"),
        ("ivig", "gbs", "first_line", r"second IVIG course is not recommended"),
        ("rituximab", "pi", "harmful", r"add-on \(adjunct\).*alongside immunoglobulin"),
    ],
)
def test_pair_caveats_are_in_the_note(therapy: str, condition: str, status: str, text: str) -> None:
    indication = INDICATIONS[(therapy, condition)]
    assert indication["status"] == status
    assert re.search(text, indication.get("note", ""), re.IGNORECASE | re.DOTALL)


# --- (e) condition codes -------------------------------------------------------------------


def icd_owner(code: str) -> set[str]:
    """Conditions a ICD-10-CM code maps to: exact, or the nearest listed ancestor by prefix
    (the same rule as `api.fhir.codes`)."""
    listed = {
        (c["code"].upper(), cond["id"])
        for cond in CATALOG["conditions"]
        for c in cond["codes"]
        if c["system"] == ICD10CM
    }
    current = code.upper()
    while len(current) >= 3:
        owners = {cid for listed_code, cid in listed if listed_code == current}
        if owners:
            return owners
        current = current[:-1].rstrip(".")
    return set()


@pytest.mark.parametrize(
    ("code", "condition"),
    [
        ("G61.81", "cidp"),
        ("G61.82", "mmn"),
        ("G61.0", "gbs"),
        ("D69.3", "itp"),
        ("G35", "ms"),
        ("G35.A", "ms"),
        ("G35.B1", "ms-progressive"),
        ("G35.C2", "ms-progressive"),
        ("G35.D", "ms"),
        ("G70.01", "mg-exacerbation"),
        ("G70.00", "mg"),
        ("D80.1", "pi"),
        ("D83.9", "pi"),
        ("D81.82", "pi"),
        ("D84.89", "pi"),
    ],
)
def test_icd10_code_maps_to_condition(code: str, condition: str) -> None:
    assert icd_owner(code) == {condition}


@pytest.mark.parametrize("code", ["D84.81", "D84.821", "D84.822", "D69.41", "D84.8"])
def test_secondary_immunodeficiency_and_evans_are_not_mapped(code: str) -> None:
    assert icd_owner(code) == set()


@pytest.mark.parametrize(
    "code",
    ["D80.2", "D80.3", "D80.4", "D80.7", "D84.0", "D84.1"],
)
def test_deficiencies_without_an_immunoglobulin_indication_are_not_mapped(code: str) -> None:
    """Selective IgA, IgG-subclass or IgM deficiency, transient infant hypogammaglobulinaemia,
    LFA-1 and complement defects are not indications for immunoglobulin replacement (CSTM
    Choosing Wisely; Orange 2006): mapping them to `pi` would rank IVIG first for them."""
    assert icd_owner(code) == set()


def test_ms_lists_the_fy2026_codes() -> None:
    codes = {
        c["code"]
        for cid in ("ms", "ms-progressive")
        for c in CONDITIONS[cid]["codes"]
        if c["system"] == ICD10CM
    }
    assert codes >= {
        "G35",
        "G35.A",
        "G35.B0",
        "G35.B1",
        "G35.B2",
        "G35.C0",
        "G35.C1",
        "G35.C2",
        "G35.D",
    }


def test_condition_codes_are_unique() -> None:
    pairs = [(c["system"], c["code"]) for cond in CATALOG["conditions"] for c in cond["codes"]]
    assert len(pairs) == len(set(pairs))


def test_snomed_codes_from_ehr_reference() -> None:
    expected = {
        "pi": "58606001",
        "cidp": "128209004",
        "gbs": "40956001",
        "ms": "24700007",
        "mg": "91637004",
        "itp": "2897005",
    }
    for condition_id, code in expected.items():
        codes = {c["code"] for c in CONDITIONS[condition_id]["codes"] if c["system"] == SNOMED}
        assert code in codes, condition_id


def test_observation_codes_from_ehr_reference() -> None:
    observation_codes = CATALOG["observation_codes"]
    egfr = {c["code"] for c in observation_codes["egfr"]["codes"]}
    assert egfr >= {
        "98979-8",
        "62238-1",
        "33914-3",
        "48642-3",
        "48643-1",
        "50044-7",
        "88293-6",
        "88294-4",
    }
    assert {c["code"] for c in observation_codes["platelet_count"]["codes"]} >= {
        "777-3",
        "26515-7",
    }
    assert "2465-3" in {c["code"] for c in observation_codes["igg_trough"]["codes"]}
    assert "82810-3" in {c["code"] for c in observation_codes["pregnancy"]["codes"]}


def test_plain_iga_deficiency_does_not_imply_anti_iga_antibodies() -> None:
    factors = {f["id"]: f for f in CATALOG["risk_factors"]}
    codes = {c["code"] for c in factors["iga_deficiency_with_anti_iga"].get("codes", [])}
    assert "D80.2" not in codes


def test_risk_rules_name_known_risk_factors_and_conditions() -> None:
    factors = {f["id"] for f in CATALOG["risk_factors"]}
    for therapy in CATALOG["therapies"]:
        for rule in therapy.get("risk_rules", []):
            if rule.get("attribute") == "risk_factor":
                assert rule["value"] in factors, rule["id"]
            if rule.get("condition") is not None:
                assert rule["condition"] in CONDITIONS, rule["id"]
