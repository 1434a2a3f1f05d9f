"""Decision points: where the patient is in treatment decides what is ranked now and what waits.

A small CIDP-like catalog: two first treatments (ivig, steroids), a maintenance option that needs
a response to ivig (scig), a refractory option after a first-line failure (pe), an add-on (addon,
given with steroids), one that may be tried again after a poor response (retry), and a phased
one (phased: persistent or chronic only).
"""

from __future__ import annotations

import pytest
from factories import indication, simple_catalog, snapshot, therapy

from scoring import rank
from scoring.model import (
    CatalogSnapshot,
    IndicationStatus,
    PatientCase,
    Place,
    Preferences,
    PriorOutcome,
    PriorTreatment,
    Requirement,
    Result,
    Weights,
)
from scoring.weights import DEFAULT_RATINGS

DEFAULT = Weights(dict(DEFAULT_RATINGS))
IDS = ("addon", "ivig", "pe", "phased", "retry", "scig", "steroids")
PLACES = {
    "ivig": Place(),
    "steroids": Place(),
    "scig": Place(Requirement.RESPONSE_TO, ("ivig",), source_id="src-place"),
    "pe": Place(Requirement.INADEQUATE_FIRST_LINE, source_id="src-place"),
    "addon": Place(Requirement.ADD_ON_TO, ("steroids",), message="Added to steroids."),
    "retry": Place(retreatment=(PriorOutcome.INADEQUATE_RESPONSE,)),
    "phased": Place(phases=("persistent", "chronic"), source_id="src-place"),
}
STATUS = {"scig": IndicationStatus.MAINTENANCE, "pe": IndicationStatus.REFRACTORY_ONLY}


def catalog() -> CatalogSnapshot:
    base = simple_catalog(*IDS)
    return snapshot(
        therapies=base.therapies,
        indications=tuple(
            indication(t, status=STATUS.get(t, IndicationStatus.FIRST_LINE), place=PLACES[t])
            for t in IDS
        ),
        costs=base.costs,
        availability_rows=base.availability,
    )


CATALOG = catalog()


def run(history: tuple[PriorTreatment, ...] | None, phase: str | None = "chronic") -> Result:
    case = PatientCase(condition_id="cidp", prior_treatments=history, phase=phase)
    return rank(CATALOG, case, Preferences(), DEFAULT)


def where(result: Result) -> dict[str, str]:
    lists = {
        **{o.therapy_id: "ranked" for o in result.ranked},
        **{e.therapy_id: "excluded" for e in result.excluded},
        **{e.therapy_id: "later" for e in result.later},
    }
    assert sorted(lists) == sorted(IDS), "each therapy in exactly one list"
    return lists


def codes(result: Result, therapy_id: str) -> set[str]:
    for option in result.ranked:
        if option.therapy_id == therapy_id:
            return {c.code for c in option.cautions}
    for exclusion in (*result.excluded, *result.later):
        if exclusion.therapy_id == therapy_id:
            return {r.code for r in exclusion.reasons}
    raise AssertionError(therapy_id)


def test_treatment_naive_ranks_first_treatments_and_the_rest_waits() -> None:
    result = run(())
    assert where(result) == {
        "ivig": "ranked",
        "steroids": "ranked",
        "retry": "ranked",
        "phased": "ranked",
        "scig": "later",
        "pe": "later",
        "addon": "later",
    }
    scig = next(e for e in result.later if e.therapy_id == "scig")
    (reason,) = scig.reasons
    assert reason.code == "later_decision_point"
    assert reason.source == "src-place"
    assert "IVIG" in reason.message  # the therapy's name, from the catalog
    addon = next(e for e in result.later if e.therapy_id == "addon")
    assert addon.reasons[0].message == "Added to steroids."  # the place's own words


def test_history_unknown_keeps_every_option_ranked_with_a_check() -> None:
    result = run(None)
    assert set(where(result).values()) == {"ranked"}
    for therapy_id in ("scig", "pe", "addon"):
        assert "needs_check_prior_treatment" in codes(result, therapy_id)
    for therapy_id in ("ivig", "steroids", "retry"):
        assert "needs_check_prior_treatment" not in codes(result, therapy_id)


def test_a_response_to_ivig_opens_maintenance() -> None:
    result = run((PriorTreatment("ivig", PriorOutcome.RESPONDED, ongoing=True),))
    assert where(result)["scig"] == "ranked"
    assert "needs_check_prior_treatment" not in codes(result, "scig")
    assert where(result)["pe"] == "later"  # responding: no need for the refractory option
    assert where(result)["ivig"] == "ranked"  # continuing what works


def test_ivig_given_with_response_unknown_asks_rather_than_moves() -> None:
    result = run((PriorTreatment("ivig"),))
    assert where(result)["scig"] == "ranked"
    assert "needs_check_prior_treatment" in codes(result, "scig")
    assert "needs_check_prior_treatment" in codes(result, "pe")


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (PriorOutcome.INADEQUATE_RESPONSE, "prior_inadequate_response"),
        (PriorOutcome.NOT_TOLERATED, "prior_not_tolerated"),
    ],
)
def test_refractory_to_a_first_treatment(outcome: PriorOutcome, code: str) -> None:
    result = run((PriorTreatment("steroids", outcome),))
    places = where(result)
    assert places["steroids"] == "excluded"
    assert codes(result, "steroids") == {code}
    assert places["pe"] == "ranked"  # after a first-line failure
    assert "needs_check_prior_treatment" not in codes(result, "pe")
    assert places["scig"] == "later"  # no response to ivig


def test_responded_is_never_a_reason_to_exclude() -> None:
    result = run(tuple(PriorTreatment(t, PriorOutcome.RESPONDED) for t in IDS))
    assert "excluded" not in where(result).values()


@pytest.mark.parametrize(
    ("outcome", "place"),
    [
        (PriorOutcome.INADEQUATE_RESPONSE, "ranked"),  # its place allows a second try
        (PriorOutcome.NOT_TOLERATED, "excluded"),
    ],
)
def test_retreatment_is_catalog_data(outcome: PriorOutcome, place: str) -> None:
    assert where(run((PriorTreatment("retry", outcome),)))["retry"] == place


@pytest.mark.parametrize(("ongoing", "place"), [(True, "ranked"), (False, "later")])
def test_an_add_on_needs_the_base_treatment_now(ongoing: bool, place: str) -> None:
    history = (PriorTreatment("steroids", PriorOutcome.RESPONDED, ongoing=ongoing),)
    assert where(run(history))["addon"] == place


@pytest.mark.parametrize(
    ("phase", "place", "check"),
    [
        ("newly_diagnosed", "later", False),
        ("persistent", "ranked", False),
        ("chronic", "ranked", False),
        (None, "ranked", True),
    ],
)
def test_a_phased_place(phase: str | None, place: str, check: bool) -> None:
    result = run((), phase=phase)
    assert where(result)["phased"] == place
    assert ("needs_check_phase" in codes(result, "phased")) is check
    if place == "later":
        assert codes(result, "phased") == {"later_decision_point"}


def test_a_hard_exclusion_wins_over_waiting() -> None:
    """A therapy both contraindicated and not yet due is listed as excluded, once."""
    result = rank(
        CATALOG,
        PatientCase(condition_id="cidp", prior_treatments=()),
        Preferences(max_annual_cost=1.0),  # every option costs 50,000 a year
        DEFAULT,
    )
    places = where(result)
    assert places["scig"] == "excluded"
    assert result.later == ()


def test_the_same_case_gives_the_same_result() -> None:
    history = (PriorTreatment("ivig", PriorOutcome.NOT_TOLERATED),)
    assert run(history) == run(history)


def test_prepared_data_lives_on_each_snapshot() -> None:
    """A replayed old release keeps its own preparation and never pushes out the live one."""
    live, old = catalog(), catalog()
    rank(live, PatientCase(condition_id="cidp"), Preferences(), DEFAULT)
    prepared = live.prepared["engine"]
    for _ in range(10):
        rank(old, PatientCase(condition_id="cidp"), Preferences(), DEFAULT)
    assert live.prepared["engine"] is prepared
    assert old.prepared["engine"] is not prepared
    assert live == old  # the preparation is not part of the snapshot's value


@pytest.mark.parametrize(
    ("outcome", "place"),
    [(PriorOutcome.NOT_TOLERATED, "ranked"), (PriorOutcome.RESPONDED, "later")],
)
def test_without_named_therapies_the_first_line_set_is_the_conditions(
    outcome: PriorOutcome, place: str
) -> None:
    """`inadequate_first_line` without named therapies means any option of the condition whose
    place needs nothing first."""
    catalog_ = snapshot(
        therapies=(therapy("a"), therapy("b")),
        indications=(
            indication("a", place=Place()),
            indication("b", place=Place(Requirement.INADEQUATE_FIRST_LINE)),
        ),
    )
    case = PatientCase(condition_id="cidp", prior_treatments=(PriorTreatment("a", outcome),))
    result = rank(catalog_, case, Preferences(), DEFAULT)
    assert ("b" in [o.therapy_id for o in result.ranked]) is (place == "ranked")
    assert ("b" in [e.therapy_id for e in result.later]) is (place == "later")


@pytest.mark.parametrize(
    "entry",
    [
        PriorTreatment("scig", PriorOutcome.RESPONDED),
        PriorTreatment("scig", None, ongoing=True),
        PriorTreatment("pe", PriorOutcome.RESPONDED),
    ],
)
def test_a_patient_already_at_the_point_is_never_sent_back(entry: PriorTreatment) -> None:
    """On SCIG and doing well, with IVIG not listed: SCIG stays ranked, no check asked."""
    result = run((entry,))
    assert where(result)[entry.therapy_id] == "ranked"
    assert "needs_check_prior_treatment" not in codes(result, entry.therapy_id)
