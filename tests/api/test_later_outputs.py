"""`later[]` wherever results appear: the FHIR RequestGroup and CDS Hooks order cards.

FHIR intake never states a treatment history (it sends none, so the history is unknown), so
these call the output builders directly with a result whose stated history puts options at a
later decision point.
"""

from __future__ import annotations

from datetime import date

from api.cds.cards import CardSource, order_cards, result_detail
from api.fhir.codes import FhirCodeLists
from api.fhir.intake import DerivedCase, DerivedOrder
from api.fhir.output import guidance_bundle
from api.settings import Settings
from db.fhir_codes import load_code_rows
from db.session import make_engine, make_session_factory
from db.snapshot import load_snapshot
from scoring import rank
from scoring.model import CatalogSnapshot, PatientCase, Preferences, Result, Weights
from scoring.weights import DEFAULT_RATINGS


def _load(database_url: str) -> tuple[CatalogSnapshot, FhirCodeLists]:
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            snapshot = load_snapshot(session)
        with factory() as session:
            return snapshot, FhirCodeLists.from_rows(load_code_rows(session))
    finally:
        engine.dispose()


def _naive_cidp(snapshot: CatalogSnapshot) -> Result:
    case = PatientCase(condition_id="cidp", age_years=52, prior_treatments=())
    return rank(snapshot, case, Preferences(), Weights(dict(DEFAULT_RATINGS)))


def test_the_fhir_request_group_lists_later_options(database_url: str) -> None:
    snapshot, _ = _load(database_url)
    result = _naive_cidp(snapshot)
    bundle = guidance_bundle(
        result,
        snapshot,
        DerivedCase(as_of=date(2026, 11, 30)),
        module_uri="https://tada.example/fhir",
        request_id="r1",
    )
    group = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RequestGroup"
    )
    actions = {a["id"]: a for a in group["action"][0]["action"]}
    scig = actions["later-scig"]
    assert scig["title"].startswith("For a later decision point")
    assert "IVIG" in scig["description"]
    assert "scig" not in actions  # not among the ranked options


def test_an_order_for_a_later_point_therapy_says_what_usually_comes_first(
    database_url: str, settings: Settings
) -> None:
    snapshot, codes = _load(database_url)
    result = _naive_cidp(snapshot)
    case = DerivedCase(as_of=date(2026, 11, 30), condition_id="cidp")
    order = DerivedOrder(
        therapy_id="scig",
        coding="x",
        status="draft",
        intent="order",
        source="MedicationRequest/draft-scig",
        reason_condition_ids=["cidp"],
    )
    cards = order_cards(
        case, [order], {"cidp": result}, snapshot, codes, settings, CardSource(label="TADA")
    ).cards
    (card,) = cards
    assert card.indicator == "warning"
    assert card.summary.startswith("Subcutaneous immunoglobulin")
    assert "usually comes later" in card.summary
    assert card.detail is not None
    assert "keep up a good response to IVIG" in card.detail
    assert "Usually for a later decision point" in result_detail(result, case, snapshot)
