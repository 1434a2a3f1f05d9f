"""Each partial value function against hand-computed values on the catalog's fixed scales."""

from __future__ import annotations

import math

import pytest
from factories import availability, cost, effect, facts, indication, rule, scales, therapy

from scoring import criteria
from scoring.model import (
    AdverseEffect,
    AvailabilityStatus,
    CareSetting,
    Certainty,
    Cost,
    CostBasis,
    IndicationStatus,
    PatientCase,
    Preferences,
    TherapyProfile,
)

SCALES = scales()
CASE = PatientCase(condition_id="cidp")
HOME = frozenset({CareSetting.HOME})
ANYWHERE = Preferences()


# --- efficacy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "certainty", "expected"),
    [
        (IndicationStatus.FIRST_LINE, Certainty.HIGH, 1.0),
        (IndicationStatus.SECOND_LINE, Certainty.MODERATE, 0.63),
        (IndicationStatus.REFRACTORY_ONLY, Certainty.LOW, 0.375),
        (IndicationStatus.INVESTIGATIONAL, Certainty.VERY_LOW, 0.15),
    ],
)
def test_efficacy_is_status_value_times_certainty_factor(
    status: IndicationStatus, certainty: Certainty, expected: float
) -> None:
    partial = criteria.efficacy(
        facts(indication_row=indication(status=status, certainty=certainty)), SCALES
    )
    assert partial.value == pytest.approx(expected)
    assert partial.sources == ("src-guideline",)
    assert partial.explanation


@pytest.mark.parametrize(
    ("status", "cautioned"),
    [
        (IndicationStatus.FIRST_LINE, False),
        (IndicationStatus.SECOND_LINE, False),
        (IndicationStatus.MAINTENANCE, False),
        (IndicationStatus.REFRACTORY_ONLY, True),
        (IndicationStatus.ADJUNCT, True),
        (IndicationStatus.EXCEPTIONAL, True),
        (IndicationStatus.INVESTIGATIONAL, True),
    ],
)
def test_a_restricted_place_is_a_caution_citing_the_indication(
    status: IndicationStatus, cautioned: bool
) -> None:
    partial = criteria.efficacy(facts(indication_row=indication(status=status)), SCALES)
    codes = {c.code: c for c in partial.cautions}
    assert (f"place_{status.value}" in codes) is cautioned
    if cautioned:
        assert codes[f"place_{status.value}"].source == "src-guideline"


def test_efficacy_without_a_scale_entry_is_the_unknown_value() -> None:
    sparse = scales(status_value={IndicationStatus.FIRST_LINE: 1.0})
    partial = criteria.efficacy(
        facts(indication_row=indication(status=IndicationStatus.ADJUNCT)), sparse
    )
    assert partial.value == 0.5


def test_efficacy_without_an_indication_is_the_unknown_value() -> None:
    partial = criteria.efficacy(facts(indication=None), SCALES)
    assert partial.value == 0.5
    assert "no evidence" in partial.explanation


# --- safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effects", "expected"),
    [
        ((effect(per_100=0.0),), 1.0),  # a sourced "0 in 100" (watchful waiting)
        ((effect(per_100=2.5, serious=True), effect(per_100=25.0)), 0.5),
        ((effect(per_100=5.0, serious=True),), 0.4),
        ((effect(per_100=50.0),), 0.6),
        ((effect(per_100=40.0, serious=True), effect(per_100=400.0)), 0.0),
        ((effect(per_100=None, serious=True), effect(per_100=10.0)), 0.92),
    ],
)
def test_safety_counts_serious_and_common_effects_on_fixed_scales(
    effects: tuple[AdverseEffect, ...], expected: float
) -> None:
    partial = criteria.safety(effects, (), SCALES)
    assert partial.value == pytest.approx(expected)
    assert partial.cautions == ()


def test_safety_says_how_many_effects_have_no_frequency() -> None:
    partial = criteria.safety((effect(per_100=None), effect(per_100=0.0)), (), SCALES)
    assert partial.value == 1.0
    assert "1 other listed effect(s) have no known rate" in partial.explanation


def test_a_serious_harm_without_a_rate_is_named_never_zero_in_100() -> None:
    harm = effect(per_100=None, serious=True, name="Kidney failure")
    partial = criteria.safety((harm, effect(per_100=10.0)), (), SCALES)
    assert "Kidney failure" in partial.explanation
    assert "Serious side effects: about 0" not in partial.explanation
    assert "0 in 100" not in partial.explanation.split("Other")[0]


@pytest.mark.parametrize(
    ("effects", "flagged"),
    [((), True), ((effect(per_100=None),), True), ((effect(per_100=0.0),), False)],
)
def test_missing_side_effect_data_is_flagged_not_scored_as_safe(
    effects: tuple[AdverseEffect, ...], flagged: bool
) -> None:
    partial = criteria.safety(effects, (), SCALES)
    assert ("safety_data_missing" in {c.code for c in partial.cautions}) is flagged
    if flagged:
        assert partial.value == SCALES.unknown_value


def test_missing_administration_data_is_flagged_not_scored_as_no_burden() -> None:
    unknown = facts(therapy(sessions_per_month=None))
    partial = criteria.convenience(unknown, PatientCase(condition_id="cidp"), Preferences(), SCALES)
    assert partial.value == SCALES.unknown_value
    assert [c.code for c in partial.cautions] == ["burden_unknown"]


def test_a_relative_rule_lowers_safety_and_adds_its_caution() -> None:
    renal = rule(code="renal_impairment", safety_penalty=0.3, message="Kidneys.")
    partial = criteria.safety((effect(per_100=25.0),), (renal,), SCALES)
    assert partial.value == pytest.approx(1 - 0.4 * 0.5 - 0.3)
    assert [(c.code, c.message, c.source) for c in partial.cautions] == [
        ("renal_impairment", "Kidneys.", "src-rule")
    ]
    assert "src-rule" in partial.sources


def test_penalties_cannot_push_safety_below_zero() -> None:
    heavy = (rule(code="a", safety_penalty=0.8), rule(code="b", safety_penalty=0.8))
    assert criteria.safety((), heavy, SCALES).value == 0.0


# --- convenience -----------------------------------------------------------------------------


def _value(hours_month: float, needles_month: float) -> float:
    return 0.8 * (1 - min(1, hours_month / 40)) + 0.2 * (1 - min(1, needles_month / 20))


HOME_AFTER_3 = therapy(
    care_settings=frozenset({CareSetting.HOSPITAL, CareSetting.HOME}),
    home_after_supervised=3,
    home_rule_source_id="src-home",
)


@pytest.mark.parametrize(
    ("profile", "case", "preferences", "hours_month", "needles_month"),
    [
        # Clinic only: 1 session x (3 h + 2 x 1 h default travel).
        (therapy(), CASE, ANYWHERE, 5.0, 1.0),
        # The patient's own travel time: 2 x 2.5 h.
        (therapy(), PatientCase(condition_id="cidp", travel_hours=2.5), ANYWHERE, 8.0, 1.0),
        # Home offered, home rule met, no stated setting: no travel.
        (
            HOME_AFTER_3,
            PatientCase(condition_id="cidp", prior_supervised_infusions=3),
            ANYWHERE,
            3.0,
            1.0,
        ),
        # Home rule not yet met: travel still counted.
        (
            HOME_AFTER_3,
            PatientCase(condition_id="cidp", prior_supervised_infusions=2),
            ANYWHERE,
            5.0,
            1.0,
        ),
        # Home met, but the patient accepts the hospital only: travel counted.
        (
            HOME_AFTER_3,
            PatientCase(condition_id="cidp", prior_supervised_infusions=5),
            Preferences(settings=frozenset({CareSetting.HOSPITAL})),
            5.0,
            1.0,
        ),
        # Weekly subcutaneous at home, 2 needles a session.
        (
            therapy(
                care_settings=HOME,
                sessions_per_month=4.0,
                hours_per_session=1.0,
                needles_per_session=2.0,
            ),
            CASE,
            Preferences(settings=HOME),
            4.0,
            8.0,
        ),
        # Observation: nothing to attend.
        (therapy(sessions_per_month=0.0, needles_per_session=0.0), CASE, ANYWHERE, 0.0, 0.0),
        # Worse than the worst: clamped to 0 for both parts.
        (
            therapy(sessions_per_month=10.0, hours_per_session=6.0, needles_per_session=4.0),
            CASE,
            ANYWHERE,
            80.0,
            40.0,
        ),
    ],
)
def test_convenience_counts_hours_and_needles_a_month(
    profile: TherapyProfile,
    case: PatientCase,
    preferences: Preferences,
    hours_month: float,
    needles_month: float,
) -> None:
    partial = criteria.convenience(facts(profile), case, preferences, SCALES)
    assert partial.value == pytest.approx(_value(hours_month, needles_month))
    assert partial.explanation


def test_convenience_uses_the_indications_frequency_over_the_therapys() -> None:
    row = indication(sessions_per_month=2.0, hours_per_session=4.0, source_id="src-ind")
    partial = criteria.convenience(facts(therapy(), row), CASE, ANYWHERE, SCALES)
    assert partial.value == pytest.approx(_value(2 * (4 + 2), 2))
    assert "src-ind" in partial.sources


def test_convenience_explains_when_home_use_becomes_possible() -> None:
    partial = criteria.convenience(facts(HOME_AFTER_3), CASE, ANYWHERE, SCALES)
    assert "after 3 supervised infusions" in partial.explanation
    assert "src-home" in partial.sources


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "amount", "annual"),
    [
        (CostBasis.PER_YEAR, 100_000.0, 100_000.0),
        (CostBasis.PER_MONTH, 10_000.0, 120_000.0),
        (CostBasis.PER_SESSION, 5_000.0, 5_000.0 * 2 * 12),
        (CostBasis.PER_COURSE, 30_000.0, 90_000.0),
        (CostBasis.ONE_OFF, 250_000.0, 250_000.0),
    ],
)
def test_cost_is_annualised_and_scaled_by_the_currency_ceiling(
    basis: CostBasis, amount: float, annual: float
) -> None:
    row = indication(sessions_per_month=2.0, courses_per_year=3.0)
    therapy_facts = facts(therapy(), row, cost=cost(amount=amount, basis=basis))
    yearly = criteria.annual_cost(therapy_facts)
    assert yearly is not None
    assert yearly.amount == pytest.approx(annual)
    partial = criteria.cost(yearly, SCALES)
    assert partial.value == pytest.approx(1 - annual / 500_000)
    assert partial.sources == ("src-cost",)
    if basis is CostBasis.ONE_OFF:
        assert "first year" in partial.explanation


@pytest.mark.parametrize(("route", "noun"), [("oral", "dose"), ("intravenous", "session")])
def test_a_price_a_session_is_explained_in_the_routes_unit(route: str, noun: str) -> None:
    """A medicine by mouth is priced a dose, not "a session" (the grid says the same)."""
    row = indication(sessions_per_month=30.0)
    therapy_facts = facts(
        therapy(route=route), row, cost=cost(amount=0.3, basis=CostBasis.PER_SESSION)
    )
    yearly = criteria.annual_cost(therapy_facts)
    assert yearly is not None
    assert f"0.3 USD a {noun} x 360 a year" in yearly.explanation, yearly.explanation


def test_a_course_without_courses_a_year_counts_once() -> None:
    therapy_facts = facts(cost=cost(amount=30_000.0, basis=CostBasis.PER_COURSE))
    yearly = criteria.annual_cost(therapy_facts)
    assert yearly is not None
    assert yearly.amount == 30_000.0


def test_cost_above_the_ceiling_is_zero_and_free_is_one() -> None:
    dear = criteria.annual_cost(facts(cost=cost(amount=2_000_000.0)))
    free = criteria.annual_cost(facts(cost=cost(amount=0.0)))
    assert criteria.cost(dear, SCALES).value == 0.0
    assert criteria.cost(free, SCALES).value == 1.0


@pytest.mark.parametrize("row", [None, cost(currency="JPY")])
def test_unknown_cost_is_the_unknown_value_with_a_caution(row: Cost | None) -> None:
    partial = criteria.cost(criteria.annual_cost(facts(cost=row)), SCALES)
    assert partial.value == 0.5
    assert [c.code for c in partial.cautions] == ["cost_unknown"]


# --- availability ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "lead_time", "expected", "caution"),
    [
        (AvailabilityStatus.AVAILABLE, None, 1.0, None),
        (AvailabilityStatus.AVAILABLE, 45.0, 0.75, None),
        (AvailabilityStatus.AVAILABLE, 900.0, 0.5, None),
        (AvailabilityStatus.CONSTRAINED, 9.0, 0.6 * 0.95, "supply_constrained"),
        (AvailabilityStatus.SHORTAGE, 0.0, 0.25, "shortage"),
        (AvailabilityStatus.UNAVAILABLE, None, 0.0, None),
    ],
)
def test_availability_is_status_value_lowered_by_lead_time(
    status: AvailabilityStatus, lead_time: float | None, expected: float, caution: str | None
) -> None:
    row = availability(status=status, lead_time_days=lead_time, as_of="2024-01-01")
    partial = criteria.availability(facts(availability=row), "US", SCALES)
    assert partial.value == pytest.approx(expected)
    assert [c.code for c in partial.cautions] == ([caution] if caution else [])
    assert all(c.source == "src-supply" for c in partial.cautions)


def test_no_supply_row_is_the_unknown_value_with_a_caution() -> None:
    partial = criteria.availability(facts(), "FR", SCALES)
    assert partial.value == 0.5
    assert [c.code for c in partial.cautions] == ["availability_unknown"]


# --- onset -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0.0, 1.0),
        (14.0, 1 - math.log(15) / math.log(181)),
        (180.0, 0.0),
        (365.0, 0.0),
    ],
)
def test_onset_is_logarithmic_on_a_fixed_range(days: float, expected: float) -> None:
    partial = criteria.onset(facts(therapy(onset_days=days)), ANYWHERE, SCALES)
    assert partial.value == pytest.approx(expected)
    assert partial.cautions == ()


def test_onset_prefers_the_indications_days() -> None:
    row = indication(onset_days=0.0, source_id="src-ind")
    partial = criteria.onset(facts(therapy(onset_days=100.0), row), ANYWHERE, SCALES)
    assert partial.value == 1.0
    assert partial.sources == ("src-ind",)


def test_unknown_onset_is_the_unknown_value() -> None:
    partial = criteria.onset(facts(therapy(onset_days=None)), Preferences(urgent=True), SCALES)
    assert partial.value == 0.5
    assert partial.cautions == ()


@pytest.mark.parametrize(("days", "cautioned"), [(14.0, False), (15.0, True)])
def test_urgent_patients_see_a_slow_onset_caution(days: float, cautioned: bool) -> None:
    partial = criteria.onset(facts(therapy(onset_days=days)), Preferences(urgent=True), SCALES)
    assert [c.code for c in partial.cautions] == (["slow_onset"] if cautioned else [])


# --- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "text"), [(3, "3"), (1.4, "1.4"), (0.255, "0.26"), (12000.0, "12,000"), (-0.0, "0")]
)
def test_numbers_read_plainly(x: float, text: str) -> None:
    assert criteria.number(x) == text


def test_ratio_and_clamp_edges() -> None:
    assert criteria.ratio(1.0, 0.0) == 1.0
    assert criteria.ratio(0.0, 0.0) == 0.0
    assert criteria.clamp(float("nan")) == 0.0


def test_a_single_yearly_dose_is_explained_as_one_a_year() -> None:
    """1/12 a month reads 0.08 a month: the explanation counts sessions a year instead, so its
    arithmetic gives the total it states (70 kg x 1 g/kg x 151 USD/g x 1 = 10,570)."""
    row = indication(sessions_per_month=1 / 12, dose_per_kg=1.0)
    therapy_facts = facts(therapy(), row, cost=cost(amount=151.0, basis=CostBasis.PER_GRAM))
    yearly = criteria.annual_cost(therapy_facts, weight_kg=70.0)
    assert yearly is not None
    assert round(yearly.amount) == 10_570
    assert yearly.explanation.startswith(
        "About 10,570 USD a year: 70 kg x 1 g per kg a session x 151 USD per g x 1 a year,"
    ), yearly.explanation
