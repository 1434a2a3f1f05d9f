"""Value types the decision engine reads and returns.

The engine sees the catalog only as these frozen values (a *snapshot*), never as ORM rows or
HTTP payloads, so it can be tested, benchmarked and reasoned about without a database. Every
clinical fact here carries the id of the `Source` that supports it; the engine copies those ids
into its explanations so a reader can always see where a number came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Criterion(StrEnum):
    """The six criteria a patient can weigh; the order is the public order of the response."""

    EFFICACY = "efficacy"
    SAFETY = "safety"
    CONVENIENCE = "convenience"
    COST = "cost"
    AVAILABILITY = "availability"
    ONSET = "onset"


CRITERIA: tuple[Criterion, ...] = tuple(Criterion)


class CareSetting(StrEnum):
    HOSPITAL = "hospital"
    INFUSION_CENTER = "infusion_center"
    HOME = "home"


class IndicationStatus(StrEnum):
    """Where a guideline places a therapy for a condition.

    `not_recommended` (a guideline calls it ineffective or says it should not be used),
    `harmful` (evidence or mechanism shows it worsens the condition) and `no_role` (no evidence
    and no guideline role) are never ranked: the engine excludes them with the indication's source.
    """

    FIRST_LINE = "first_line"
    SECOND_LINE = "second_line"
    MAINTENANCE = "maintenance"
    REFRACTORY_ONLY = "refractory_only"
    ADJUNCT = "adjunct"
    EXCEPTIONAL = "exceptional"
    INVESTIGATIONAL = "investigational"
    NOT_RECOMMENDED = "not_recommended"
    HARMFUL = "harmful"
    NO_ROLE = "no_role"


EXCLUDED_STATUSES: frozenset[IndicationStatus] = frozenset(
    {IndicationStatus.NOT_RECOMMENDED, IndicationStatus.HARMFUL, IndicationStatus.NO_ROLE}
)


class Certainty(StrEnum):
    """GRADE-style certainty of the evidence behind an indication."""

    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    VERY_LOW = "very_low"


class AvailabilityStatus(StrEnum):
    AVAILABLE = "available"
    CONSTRAINED = "constrained"
    SHORTAGE = "shortage"
    UNAVAILABLE = "unavailable"


class CostBasis(StrEnum):
    """How a cost figure is counted; the engine annualises each one (see `scoring.criteria`)."""

    PER_YEAR = "per_year"
    PER_MONTH = "per_month"
    PER_SESSION = "per_session"
    PER_COURSE = "per_course"
    ONE_OFF = "one_off"
    # A price per gram or per milligram of a weight-based dose: the indication's `dose_per_kg`
    # (in the same unit) x the patient's weight x sessions a year.
    PER_GRAM = "per_gram"
    PER_MG = "per_mg"


WEIGHT_BASED_BASES = frozenset({CostBasis.PER_GRAM, CostBasis.PER_MG})


class Severity(StrEnum):
    """`absolute` excludes the therapy; `relative` adds a caution and lowers safety."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class PatientAttribute(StrEnum):
    """What a risk rule may read from a patient case (units in `PatientCase`)."""

    AGE_YEARS = "age_years"
    WEIGHT_KG = "weight_kg"
    EGFR = "egfr"
    PREGNANT = "pregnant"
    RISK_FACTOR = "risk_factor"
    PLATELET_COUNT = "platelet_count"
    IGG_TROUGH = "igg_trough"
    PHASE = "phase"
    ANTIBODY_STATUS = "antibody_status"


# The attributes a rule compares with a number, and those it compares with a word.
NUMERIC_ATTRIBUTES: frozenset[PatientAttribute] = frozenset(
    {
        PatientAttribute.AGE_YEARS,
        PatientAttribute.WEIGHT_KG,
        PatientAttribute.EGFR,
        PatientAttribute.PLATELET_COUNT,
        PatientAttribute.IGG_TROUGH,
    }
)
WORD_ATTRIBUTES: dict[PatientAttribute, frozenset[str]] = {
    PatientAttribute.PHASE: frozenset({"newly_diagnosed", "persistent", "chronic"}),
    PatientAttribute.ANTIBODY_STATUS: frozenset({"achr", "musk", "seronegative"}),
}


class Operator(StrEnum):
    """Comparisons a risk rule may make.

    `lt/le/gt/ge/eq` compare a number (or `eq` a boolean or a word) with the rule's `value`;
    `in` is true when a word fact (phase, antibody status) is one of the rule's words;
    `has` is true when the patient's risk factors include the rule's `value`.
    """

    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EQ = "eq"
    HAS = "has"
    IN = "in"


class Method(StrEnum):
    WEIGHTED_SUM = "weighted_sum"
    TOPSIS = "topsis"


# --------------------------------------------------------------------------------------------
# Catalog snapshot
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    citation: str
    year: int | None = None
    url: str | None = None
    identifier: str | None = None
    kind: str = "other"
    verified: bool = True


@dataclass(frozen=True, slots=True)
class OutcomeFigure:
    """An outcome a patient can read fairly (IPDAS): group, time frame, natural frequency,
    comparator, certainty.

    `id` is a stable slug from the catalog file (never a database row id). `events` people
    out of `per` (100, or 1,000 for rare events) had the outcome within `time_frame`;
    `comparator_events` is on the same denominator. `higher_is_better` tells whether the
    event is good (improved) or bad (infection).
    """

    id: str
    measure: str
    population: str
    time_frame: str
    events: int
    per: int
    source_id: str
    comparator: str | None = None
    comparator_events: int | None = None
    higher_is_better: bool = True
    certainty: Certainty | None = None
    uncertainty: str | None = None


class Requirement(StrEnum):
    """What must come before a therapy at its place in a condition's treatment.

    `none`: nothing (a first treatment); `response_to`: the patient responded to one of the
    place's `therapies` (maintenance after a response); `inadequate_first_line`: an inadequate
    response to, or intolerance of, at least one first-line option (the place's `therapies`,
    or every option of the condition whose place requires nothing); `add_on_to`: given with one
    of the place's `therapies`, which the patient is on now.
    """

    NONE = "none"
    RESPONSE_TO = "response_to"
    INADEQUATE_FIRST_LINE = "inadequate_first_line"
    ADD_ON_TO = "add_on_to"


class PriorOutcome(StrEnum):
    RESPONDED = "responded"
    INADEQUATE_RESPONSE = "inadequate_response"
    NOT_TOLERATED = "not_tolerated"


@dataclass(frozen=True, slots=True)
class Place:
    """An indication's place in the condition's treatment (catalog data with a source).

    `phases`: the condition's phases it belongs to (empty: any). `retreatment`: the prior
    outcomes after which the same therapy may be given again (empty: none). `message`: what
    usually comes first, in plain words (the engine writes one when it is empty).
    """

    requires: Requirement = Requirement.NONE
    therapies: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    retreatment: tuple[PriorOutcome, ...] = ()
    message: str | None = None
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class Indication:
    therapy_id: str
    condition_id: str
    status: IndicationStatus
    certainty: Certainty
    source_id: str
    evidence_grade: str | None = None
    population: str | None = None
    onset_days: float | None = None
    sessions_per_month: float | None = None
    hours_per_session: float | None = None
    courses_per_year: float | None = None
    # The dose each session per kg of body weight, in the unit of a per-gram or per-mg price.
    dose_per_kg: float | None = None
    figures: tuple[OutcomeFigure, ...] = ()
    note: str | None = None  # curator-only: never shown to patients
    place: Place = Place()
    message: str | None = None  # patient-facing reason when the status excludes it


@dataclass(frozen=True, slots=True)
class Cost:
    therapy_id: str
    amount: float
    currency: str
    basis: CostBasis
    region: str
    year: int
    source_id: str
    condition_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    therapy_id: str
    region: str
    status: AvailabilityStatus
    source_id: str
    lead_time_days: float | None = None
    as_of: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One patient fact compared with a value: `egfr lt 30`, `risk_factor has hbv_active`,
    `antibody_status in [musk, seronegative]`."""

    attribute: PatientAttribute
    operator: Operator
    value: float | bool | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """True when every term is true; false when any is false; otherwise unknown."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when any term is true; false when every term is false; otherwise unknown."""

    terms: tuple[Term, ...]


Term = Comparison | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class RiskRule:
    """A machine-readable contraindication or caution, evaluated by `scoring.rules`.

    `when` is the rule's condition over patient facts (a comparison, or all / any of terms).
    Applies to every condition unless `condition_id` is set. `safety_penalty` (0-1) is what a
    relative rule subtracts from the safety value when it applies. `ask_if_unknown`: whether a
    fact the condition needs but the case lacks gives a `needs_check_<fact>` caution (None: only
    for absolute rules).
    """

    id: str
    therapy_id: str
    code: str
    when: Term
    severity: Severity
    message: str
    source_id: str
    condition_id: str | None = None
    safety_penalty: float = 0.0
    ask_if_unknown: bool | None = None

    @property
    def asks(self) -> bool:
        if self.ask_if_unknown is None:
            return self.severity is Severity.ABSOLUTE
        return self.ask_if_unknown


@dataclass(frozen=True, slots=True)
class AdverseEffect:
    therapy_id: str
    name: str
    serious: bool
    timing: str
    source_id: str
    frequency: str | None = None
    per_100: float | None = None


@dataclass(frozen=True, slots=True)
class TherapyProfile:
    id: str
    name: str
    modality: str
    route: str
    care_settings: frozenset[CareSetting]
    summary: str
    source_id: str
    home_after_supervised: int | None = None
    home_rule_source_id: str | None = None
    # None = not known (the engine then uses the scale's middle value and says so); 0 is a
    # sourced "none", e.g. watchful waiting has no sessions.
    hours_per_session: float | None = None
    sessions_per_month: float | None = None
    needles_per_session: float | None = None
    onset_days: float | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    id: str
    name: str
    codes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Scales:
    """Fixed clinical value scales, stored in the catalog so curators can see and cite them.

    Every partial value is computed against these bounds, never against the other options in a
    request, so adding or removing a therapy cannot change another's value (no rank reversal).
    """

    status_value: dict[IndicationStatus, float]
    certainty_factor: dict[Certainty, float]
    serious_per_100_worst: float
    common_per_100_worst: float
    serious_share: float
    hours_per_month_worst: float
    needles_per_month_worst: float
    needle_share: float
    default_travel_hours: float
    annual_cost_ceiling: dict[str, float]
    availability_value: dict[AvailabilityStatus, float]
    lead_time_days_worst: float
    onset_days_worst: float
    urgent_onset_days: float
    unknown_value: float


@dataclass(frozen=True, slots=True)
class FactorMeaning:
    """What a risk factor of the vocabulary says about others (catalog data).

    `implies`: factors the patient then has too (`hbv_positive` implies `hbv_resolved`).
    `may_be`: factors it neither confirms nor rules out (`hbv_positive` may be `hbv_active`): a
    rule on them is unknown, and `check` names what to check (`needs_check_hbv_status`).
    """

    implies: tuple[str, ...] = ()
    may_be: tuple[str, ...] = ()
    check: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    version: int
    therapies: tuple[TherapyProfile, ...]
    conditions: tuple[Condition, ...]
    indications: tuple[Indication, ...]
    costs: tuple[Cost, ...]
    availability: tuple[Availability, ...]
    risk_rules: tuple[RiskRule, ...]
    adverse_effects: tuple[AdverseEffect, ...]
    sources: dict[str, Source]
    scales: Scales
    risk_factors: frozenset[str] = field(default_factory=frozenset)
    factor_meanings: dict[str, FactorMeaning] = field(default_factory=dict)
    # What the engine prepares from this snapshot (patient-independent), kept with it: a
    # replayed old release has its own and never pushes out the live one. Not part of the
    # value: excluded from comparison.
    prepared: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# Patient case
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriorTreatment:
    """A therapy the patient has had for this condition; `outcome` None: response unknown."""

    therapy_id: str
    outcome: PriorOutcome | None = None
    ongoing: bool = False


@dataclass(frozen=True, slots=True)
class PatientCase:
    """What we know about one patient; `None` means unknown, which the engine never guesses.

    Units: eGFR mL/min/1.73 m2; platelet count x10^9/L; IgG trough mg/dL; travel time is one
    way, in hours, to the nearest clinic or infusion centre.
    """

    condition_id: str
    age_years: float | None = None
    weight_kg: float | None = None
    egfr: float | None = None
    pregnant: bool | None = None
    risk_factors: frozenset[str] = frozenset()
    prior_supervised_infusions: int = 0
    platelet_count: float | None = None
    igg_trough: float | None = None
    travel_hours: float | None = None
    # None: history unknown; (): none yet (treatment-naive for this condition).
    prior_treatments: tuple[PriorTreatment, ...] | None = None
    phase: str | None = None
    antibody_status: str | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    settings: frozenset[CareSetting] = frozenset()
    region: str = "US"
    max_annual_cost: float | None = None
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class Weights:
    """Importance ratings 0-10 per criterion, as the patient gave them (not yet normalised)."""

    ratings: dict[Criterion, float]


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a therapy is excluded, or a caution about it: a stable code, plain words, a source."""

    code: str
    message: str
    source: str | None


@dataclass(frozen=True, slots=True)
class CriterionScore:
    value: float
    weight: float
    contribution: float
    explanation: str


@dataclass(frozen=True, slots=True)
class Citation:
    source_id: str
    citation: str
    year: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class RankedOption:
    therapy_id: str
    name: str
    rank: int
    score: float
    criteria: dict[Criterion, CriterionScore]
    cautions: tuple[Reason, ...]
    evidence: tuple[Citation, ...]
    outcomes: tuple[str, ...]
    outcome_figures: tuple[OutcomeFigure, ...] = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    therapy_id: str
    name: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class WeightRange:
    """How far one criterion's normalised weight may move (others rescaled in proportion)
    before the first-ranked option changes. `None` bound: no change within [0, 1]."""

    criterion: Criterion
    weight: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True, slots=True)
class Stability:
    top_therapy_id: str | None
    margin: float | None
    weight_ranges: tuple[WeightRange, ...]


@dataclass(frozen=True, slots=True)
class Result:
    catalog_version: int
    method: Method
    condition_id: str
    ranked: tuple[RankedOption, ...]
    excluded: tuple[Exclusion, ...]
    stability: Stability
    weights: dict[Criterion, float]
    unknown: tuple[str, ...]
    # Options the stated history puts at a later decision point (reason `later_decision_point`).
    later: tuple[Exclusion, ...] = ()
    # Therapies of the catalog with no indication at all for the condition: counted, not
    # listed, so an answer grows with the condition's options and not with the catalog.
    not_indicated_count: int = 0
