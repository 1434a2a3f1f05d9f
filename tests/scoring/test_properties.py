"""Properties of `rank` over generated catalogs, cases and priorities (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

from factories import snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import rank
from scoring.model import (
    CRITERIA,
    AdverseEffect,
    Availability,
    AvailabilityStatus,
    CareSetting,
    CatalogSnapshot,
    Certainty,
    Comparison,
    Cost,
    CostBasis,
    Criterion,
    Indication,
    IndicationStatus,
    Method,
    Operator,
    PatientAttribute,
    PatientCase,
    Place,
    Preferences,
    PriorOutcome,
    PriorTreatment,
    Requirement,
    Result,
    RiskRule,
    Severity,
    TherapyProfile,
    Weights,
)

PROPERTY = settings(derandomize=True, max_examples=40, deadline=None, database=None)


@dataclass(frozen=True)
class Bundle:
    """One therapy and every catalog row that belongs to it."""

    therapy: TherapyProfile
    indication: Indication | None
    cost: Cost | None
    availability: Availability | None
    effects: tuple[AdverseEffect, ...]
    rules: tuple[RiskRule, ...]


settings_sets = st.frozensets(st.sampled_from(list(CareSetting)))
maybe = st.none


@st.composite
def bundles(draw: st.DrawFn, therapy_id: str) -> Bundle:
    profile = TherapyProfile(
        id=therapy_id,
        name=therapy_id.upper(),
        modality="other",
        route="intravenous",
        care_settings=draw(settings_sets),
        summary="generated",
        source_id="src-label",
        home_after_supervised=draw(maybe() | st.integers(0, 4)),
        hours_per_session=draw(st.floats(0, 8)),
        sessions_per_month=draw(st.floats(0, 10)),
        needles_per_session=draw(st.floats(0, 4)),
        onset_days=draw(maybe() | st.floats(0, 300)),
    )
    indication = draw(
        maybe()
        | st.builds(
            Indication,
            therapy_id=st.just(therapy_id),
            condition_id=st.just("cidp"),
            status=st.sampled_from(list(IndicationStatus)),
            certainty=st.sampled_from(list(Certainty)),
            source_id=st.just("src-guideline"),
            onset_days=maybe() | st.floats(0, 200),
            courses_per_year=maybe() | st.floats(0, 4),
            place=places,
        )
    )
    cost = draw(
        maybe()
        | st.builds(
            Cost,
            therapy_id=st.just(therapy_id),
            amount=st.floats(0, 1_000_000),
            currency=st.sampled_from(["USD", "USD", "JPY"]),
            basis=st.sampled_from(list(CostBasis)),
            region=st.just("US"),
            year=st.integers(2018, 2024),
            source_id=st.just("src-cost"),
        )
    )
    availability = draw(
        maybe()
        | st.builds(
            Availability,
            therapy_id=st.just(therapy_id),
            region=st.just("US"),
            status=st.sampled_from(list(AvailabilityStatus)),
            source_id=st.just("src-supply"),
            lead_time_days=maybe() | st.floats(0, 120),
        )
    )
    effects = tuple(
        AdverseEffect(
            therapy_id=therapy_id,
            name=f"effect {n}",
            serious=serious,
            timing="immediate",
            source_id="src-ae",
            per_100=per_100,
        )
        for n, (serious, per_100) in enumerate(
            draw(st.lists(st.tuples(st.booleans(), maybe() | st.floats(0, 60)), max_size=3))
        )
    )
    templates: list[tuple[PatientAttribute, Operator, float | bool | str]] = [
        (PatientAttribute.EGFR, Operator.LT, 30.0),
        (PatientAttribute.RISK_FACTOR, Operator.HAS, "thrombosis_history"),
        (PatientAttribute.PREGNANT, Operator.EQ, True),
        (PatientAttribute.AGE_YEARS, Operator.LT, 18.0),
    ]
    chosen = draw(st.lists(st.sampled_from(range(len(templates))), max_size=2, unique=True))
    rules = tuple(
        RiskRule(
            id=f"{therapy_id}-{i}",
            therapy_id=therapy_id,
            code=f"code_{i}",
            when=Comparison(*templates[i]),
            severity=draw(st.sampled_from(list(Severity))),
            message="generated rule",
            source_id="src-rule",
            safety_penalty=draw(st.floats(0, 0.5)),
        )
        for i in chosen
    )
    return Bundle(profile, indication, cost, availability, effects, rules)


@st.composite
def catalogs(draw: st.DrawFn, min_size: int = 1) -> list[Bundle]:
    count = draw(st.integers(min_size, 5))
    return [draw(bundles(f"t{n}")) for n in range(count)]


def build(bundles_: list[Bundle]) -> CatalogSnapshot:
    return snapshot(
        therapies=tuple(b.therapy for b in bundles_),
        indications=tuple(b.indication for b in bundles_ if b.indication),
        costs=tuple(b.cost for b in bundles_ if b.cost),
        availability_rows=tuple(b.availability for b in bundles_ if b.availability),
        risk_rules=tuple(r for b in bundles_ for r in b.rules),
        adverse_effects=tuple(e for b in bundles_ for e in b.effects),
    )


THERAPY_IDS = [f"t{n}" for n in range(5)]
places = st.builds(
    Place,
    requires=st.sampled_from(list(Requirement)),
    therapies=st.lists(st.sampled_from(THERAPY_IDS), max_size=2, unique=True).map(tuple),
    phases=st.lists(st.sampled_from(["newly_diagnosed", "persistent", "chronic"]), max_size=2).map(
        lambda p: tuple(sorted(set(p)))
    ),
    retreatment=st.lists(st.sampled_from(list(PriorOutcome)), max_size=1).map(tuple),
    source_id=st.just("src-guideline"),
)
histories = maybe() | st.lists(
    st.builds(
        PriorTreatment,
        therapy_id=st.sampled_from(THERAPY_IDS),
        outcome=maybe() | st.sampled_from(list(PriorOutcome)),
        ongoing=st.booleans(),
    ),
    max_size=4,
).map(tuple)
cases = st.builds(
    PatientCase,
    prior_treatments=histories,
    phase=maybe() | st.sampled_from(["newly_diagnosed", "persistent", "chronic"]),
    condition_id=st.just("cidp"),
    age_years=maybe() | st.floats(0, 90),
    egfr=maybe() | st.floats(5, 120),
    pregnant=maybe() | st.booleans(),
    risk_factors=st.frozensets(st.sampled_from(["thrombosis_history", "heart_failure"])),
    prior_supervised_infusions=st.integers(0, 5),
    travel_hours=maybe() | st.floats(0, 4),
)
preferences = st.builds(
    Preferences,
    settings=settings_sets,
    region=st.sampled_from(["US", "US", "CA"]),
    max_annual_cost=maybe() | st.floats(0, 500_000),
    urgent=st.booleans(),
)
ratings = st.lists(st.integers(0, 10), min_size=6, max_size=6).filter(any)


def weights(values: list[int] | list[float]) -> Weights:
    return Weights(dict(zip(CRITERIA, (float(v) for v in values), strict=True)))


def ranks(result: Result) -> dict[str, int]:
    """1 + the number of options with a strictly higher score (ties share a place)."""
    scores = {o.therapy_id: o.score for o in result.ranked}
    return {t: 1 + sum(s > scores[t] for s in scores.values()) for t in scores}


@PROPERTY
@given(catalogs(), cases, preferences, ratings, st.sampled_from(list(Method)))
def test_same_input_same_result(
    bundles_: list[Bundle],
    case: PatientCase,
    prefs: Preferences,
    values: list[int],
    method: Method,
) -> None:
    first = rank(build(bundles_), case, prefs, weights(values), method=method)
    second = rank(build(bundles_), case, prefs, weights(values), method=method)
    assert first == second
    assert repr(first) == repr(second)


@PROPERTY
@given(catalogs(), cases, preferences, ratings, st.sampled_from(list(Method)))
def test_every_therapy_is_ranked_excluded_or_later_with_reasons(
    bundles_: list[Bundle],
    case: PatientCase,
    prefs: Preferences,
    values: list[int],
    method: Method,
) -> None:
    result = rank(build(bundles_), case, prefs, weights(values), method=method)
    ranked = [o.therapy_id for o in result.ranked]
    excluded = [e.therapy_id for e in result.excluded]
    later = [e.therapy_id for e in result.later]
    # Each therapy named for the condition in exactly one list: ranked, excluded, or waiting
    # for a later point; the others are only counted.
    named = {
        i.therapy_id for i in build(bundles_).indications if i.condition_id == case.condition_id
    }
    assert sorted(ranked + excluded + later) == sorted(named)
    assert result.not_indicated_count == len(bundles_) - len(named)
    if case.prior_treatments is None and case.phase is None:
        assert later == [], "an unknown history or phase never moves an option"
    for waiting in result.later:
        assert waiting.reasons
        assert {r.code for r in waiting.reasons} == {"later_decision_point"}
        assert all(r.message and r.source for r in waiting.reasons)
    for exclusion in result.excluded:
        assert exclusion.reasons
        assert all(r.code and r.message for r in exclusion.reasons)
        assert all(r.source for r in exclusion.reasons)
    for option in result.ranked:
        assert 0.0 <= option.score <= 1.0
        assert option.evidence
        for part in option.criteria.values():
            assert 0.0 <= part.value <= 1.0
            assert 0.0 <= part.weight <= 1.0
        codes = [c.code for c in option.cautions]
        assert len(codes) == len(set(codes))
    assert [o.rank for o in result.ranked] == list(range(1, len(ranked) + 1))
    assert [o.score for o in result.ranked] == sorted(
        (o.score for o in result.ranked), reverse=True
    )
    for weight_range in result.stability.weight_ranges:
        low = 0.0 if weight_range.lower is None else weight_range.lower
        high = 1.0 if weight_range.upper is None else weight_range.upper
        assert low <= weight_range.weight <= high


@PROPERTY
@given(catalogs(), cases, preferences, ratings, st.sampled_from(list(Method)))
def test_halving_every_rating_changes_nothing(
    bundles_: list[Bundle],
    case: PatientCase,
    prefs: Preferences,
    values: list[int],
    method: Method,
) -> None:
    catalog = build(bundles_)
    whole = rank(catalog, case, prefs, weights(values), method=method)
    half = rank(catalog, case, prefs, weights([v / 2 for v in values]), method=method)
    assert whole == half


@PROPERTY
@given(catalogs(), cases, preferences, ratings, st.floats(0.05, 1.0))
def test_scaling_every_rating_keeps_the_scores(
    bundles_: list[Bundle],
    case: PatientCase,
    prefs: Preferences,
    values: list[int],
    factor: float,
) -> None:
    catalog = build(bundles_)
    whole = rank(catalog, case, prefs, weights(values))
    scaled = rank(catalog, case, prefs, weights([v * factor for v in values]))
    before = {o.therapy_id: o.score for o in whole.ranked}
    after = {o.therapy_id: o.score for o in scaled.ranked}
    assert before.keys() == after.keys()
    # Weights are kept to 6 decimals, so a scaled rating may move a weight by one unit.
    assert all(abs(before[t] - after[t]) <= 1e-5 for t in before)


@PROPERTY
@given(
    catalogs(min_size=2), cases, preferences, ratings, st.sampled_from(CRITERIA), st.integers(1, 10)
)
def test_raising_a_rating_never_lowers_the_option_best_on_it(
    bundles_: list[Bundle],
    case: PatientCase,
    prefs: Preferences,
    values: list[int],
    criterion: Criterion,
    raise_by: int,
) -> None:
    catalog = build(bundles_)
    k = CRITERIA.index(criterion)
    before = rank(catalog, case, prefs, weights(values))
    if not before.ranked:
        return
    best = max(before.ranked, key=lambda o: o.criteria[criterion].value).therapy_id
    higher = list(values)
    higher[k] = min(10, higher[k] + raise_by)
    after = rank(catalog, case, prefs, weights(higher))
    assert ranks(after)[best] <= ranks(before)[best]


@PROPERTY
@given(catalogs(min_size=2), cases, preferences, ratings, st.data())
def test_an_unrelated_therapy_never_reorders_the_others_under_the_weighted_sum(
    bundles_: list[Bundle],
    case: PatientCase,
    prefs: Preferences,
    values: list[int],
    data: st.DataObject,
) -> None:
    removed = data.draw(st.integers(0, len(bundles_) - 1))
    smaller = bundles_[:removed] + bundles_[removed + 1 :]
    full = rank(build(bundles_), case, prefs, weights(values))
    reduced = rank(build(smaller), case, prefs, weights(values))
    gone = bundles_[removed].therapy.id
    assert [o.therapy_id for o in full.ranked if o.therapy_id != gone] == [
        o.therapy_id for o in reduced.ranked
    ]
    full_scores = {o.therapy_id: o.score for o in full.ranked if o.therapy_id != gone}
    assert full_scores == {o.therapy_id: o.score for o in reduced.ranked}
