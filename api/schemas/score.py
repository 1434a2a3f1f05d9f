"""`POST /v1/score` request and response schemas (the public contract in DESIGN.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic.types import Strict

from scoring.model import CRITERIA, CareSetting, Certainty, Method, PriorOutcome

CRITERION_NAMES = [c.value for c in CRITERIA]


class Coding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: Annotated[str, Field(min_length=1, max_length=200)]
    code: Annotated[str, Field(min_length=1, max_length=64)]


class PriorTreatment(BaseModel):
    """A therapy already given for this condition."""

    model_config = ConfigDict(extra="forbid")

    therapy_id: Annotated[str, Field(min_length=1, max_length=80, description="A therapy id")]
    outcome: PriorOutcome | None = Field(
        default=None, description="Omitted: given, response not known"
    )
    ongoing: Annotated[bool, Strict()] = Field(default=False, description="Still being given")


class Patient(BaseModel):
    """What is known about the patient. Omit what is unknown: TADA never guesses it.

    Numbers and booleans are strict: `"52"`, `true` for a number or `0` for a boolean are a
    422, never silently converted (a misread clinical value is worse than a refused one)."""

    model_config = ConfigDict(extra="forbid")

    age_years: (
        Annotated[float, Strict(), Field(ge=0, le=125, description="Age in years")] | None
    ) = None
    weight_kg: (
        Annotated[float, Strict(), Field(gt=0.3, le=400, description="Body weight, kg")] | None
    ) = None
    egfr: (
        Annotated[float, Strict(), Field(ge=0, le=200, description="eGFR, mL/min/1.73 m2")] | None
    ) = None
    pregnant: StrictBool | None = None
    risk_factors: Annotated[
        list[Annotated[str, Field(max_length=80)]],
        Field(max_length=50, description="Ids from GET /v1/risk-factors"),
    ] = []
    prior_supervised_infusions: Annotated[
        int, Strict(), Field(ge=0, le=1000, description="Successful supervised infusions so far")
    ] = 0
    platelet_count: (
        Annotated[float, Strict(), Field(ge=0, le=2000, description="Platelets, x10^9/L")] | None
    ) = None
    igg_trough: (
        Annotated[float, Strict(), Field(ge=0, le=5000, description="IgG trough, mg/dL")] | None
    ) = None
    travel_hours: (
        Annotated[
            float,
            Strict(),
            Field(ge=0, le=48, description="One-way travel time to the clinic, hours"),
        ]
        | None
    ) = None
    prior_treatments: (
        Annotated[
            list[PriorTreatment],
            Field(
                max_length=50,
                description="Treatments already given for this condition. Omitted or null: "
                "history unknown; []: none yet (treatment-naive)",
            ),
        ]
        | None
    ) = None
    phase: Literal["newly_diagnosed", "persistent", "chronic"] | None = Field(
        default=None, description="Phase of the illness where it has phases (ITP)"
    )
    antibody_status: Literal["achr", "musk", "seronegative"] | None = Field(
        default=None, description="Myasthenia gravis antibody test result"
    )


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: Annotated[
        list[CareSetting],
        Field(max_length=3, description="Acceptable care settings; empty means any"),
    ] = []
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 code or EU")] = "US"
    max_annual_cost: (
        Annotated[
            float,
            Strict(),
            Field(gt=0, le=1e9, description="Hard budget cap, in the region's currency"),
        ]
        | None
    ) = None
    # Strict: `"urgent": 0` or `"false"` is a 422, not silently read as a boolean.
    urgent: StrictBool = False


class ScoreRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "condition": "cidp",
                    "patient": {
                        "age_years": 52,
                        "weight_kg": 80,
                        "egfr": 25,
                        "pregnant": False,
                        "risk_factors": ["thrombosis_history"],
                        "prior_supervised_infusions": 0,
                    },
                    "preferences": {"settings": ["home"], "region": "US", "urgent": False},
                    "weights": {"efficacy": 8, "safety": 7, "convenience": 6},
                }
            ]
        },
    )

    condition: str | Coding = Field(
        description="A condition id (GET /v1/conditions) or a coding such as "
        '{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G61.81"}'
    )
    patient: Patient = Patient()
    preferences: Preferences = Preferences()
    # Strict numbers: a weight of "5" (a string) is a 422, not silently read as 5.
    weights: dict[str, Annotated[float, Strict()]] = Field(
        default_factory=dict,
        description="Importance 0-10 per criterion: "
        + ", ".join(CRITERION_NAMES)
        + ". Omitted criteria take the default (5).",
    )
    method: Method = Method.WEIGHTED_SUM

    @field_validator("weights")
    @classmethod
    def _known_criteria(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(CRITERION_NAMES))
        if unknown:
            raise ValueError(
                f"unknown criteria {unknown}; the criteria are {', '.join(CRITERION_NAMES)}"
            )
        for name, value in weights.items():
            if not 0 <= value <= 10:
                raise ValueError(f"weight '{name}' must be between 0 and 10, not {value}")
        return weights


# ---------------------------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------------------------


class ReasonOut(BaseModel):
    code: str
    message: str
    source: str | None = Field(description="A source id; the citation is in `citation`")
    citation: str | None = None


class CriterionOut(BaseModel):
    value: float
    weight: float
    contribution: float
    explanation: str


class CitationOut(BaseModel):
    source_id: str
    citation: str
    year: int | None
    url: str | None


class RankedOut(BaseModel):
    therapy_id: str
    name: str
    rank: int
    score: float
    criteria: dict[str, CriterionOut]
    cautions: list[ReasonOut]
    evidence: list[CitationOut]
    outcomes: list[str] = Field(description="Outcome figures as natural frequencies (per 100)")
    outcome_figures: list[OutcomeFigureOut] = []


class ComparatorOut(BaseModel):
    label: str
    events: int


class OutcomeFigureOut(BaseModel):
    id: str = Field(description="A stable id from the catalog file")
    measure: str
    population: str
    events: int
    per: int = Field(description="100, or 1,000 for rare events")
    comparator: ComparatorOut | None
    time_frame: str
    certainty: Certainty | None
    source: str
    higher_is_better: bool = True


class ExcludedOut(BaseModel):
    therapy_id: str
    name: str
    reasons: list[ReasonOut]


class WeightRangeOut(BaseModel):
    criterion: str
    weight: float
    lower: float | None
    upper: float | None


class StabilityOut(BaseModel):
    top_therapy_id: str | None
    margin: float | None = Field(description="Score of the first option minus the second's")
    weight_ranges: list[WeightRangeOut] = Field(
        description="For each criterion, how far its weight can move (others rescaled) "
        "before the first-ranked option changes; null bound: no change up to 0 or 1"
    )


class ConditionOut(BaseModel):
    id: str
    name: str


ORDERING_BASIS = (
    "An ordering of the options by the priorities you stated; it is not a recommendation."
)


class ScoreResponse(BaseModel):
    catalog_version: int
    method: Method
    condition: ConditionOut
    ordering_basis: str = Field(default=ORDERING_BASIS, description="What the order means")
    weights: dict[str, float]
    ranked: list[RankedOut]
    excluded: list[ExcludedOut]
    stability: StabilityOut
    unknown: list[str] = Field(
        description="Patient facts that a catalog rule needed but the request did not give"
    )
    later: list[ExcludedOut] = Field(
        default=[],
        description="Options for a later decision point: what the stated history shows does "
        "not yet meet what usually comes first (code `later_decision_point`)",
    )
    not_indicated_count: int = Field(
        default=0,
        ge=0,
        description="How many catalog therapies have no indication at all for the condition: "
        "counted, not listed (`excluded` lists only the therapies the catalog names for the "
        "condition but removes)",
    )
