"""The catalog file: its schema, and reading/writing it as YAML.

The seed catalog is reviewed like code, so its schema is strict: unknown keys are refused, every
clinical statement must name a source, and every source it names must exist. A file that fails
here never reaches the database (see `db.catalog_io`). The format is documented in
`docs/catalog-format.md`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scoring.errors import InvalidRule
from scoring.model import (
    EXCLUDED_STATUSES,
    AllOf,
    AnyOf,
    AvailabilityStatus,
    CareSetting,
    Certainty,
    Comparison,
    CostBasis,
    IndicationStatus,
    Operator,
    PatientAttribute,
    Requirement,
    Severity,
    Term,
)
from scoring.rules import check_term

SEED_CATALOG = Path(__file__).parent / "catalog" / "seed.yaml"

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Region = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
# Every catalog quantity (amounts, hours, sessions, days) is far below a billion; the bound keeps
# products such as amount x sessions x 12 finite and readable in explanations.
NonNegative = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]

EffectTiming = Literal["immediate", "delayed", "any"]
SourceKind = Literal[
    "guideline",
    "label",
    "trial",
    "review",
    "registry",
    "cost_study",
    "agency",
    "article",
    "other",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceEntry(Strict):
    id: Slug
    citation: Text
    year: int | None = Field(default=None, ge=1900, le=2100)
    kind: SourceKind = "other"
    identifier: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=1000)
    verified: bool = True
    note: str | None = Field(default=None, max_length=4000)


class Coding(Strict):
    system: Annotated[str, Field(min_length=1, max_length=200)]
    code: Annotated[str, Field(min_length=1, max_length=64)]
    display: str | None = Field(default=None, max_length=300)


class RiskFactorEntry(Strict):
    id: Slug
    label: Text
    description: str | None = Field(default=None, max_length=1000)
    codes: list[Coding] = []
    # What this factor says about others (e.g. hbv_positive implies hbv_resolved and may be
    # hbv_active; a rule on hbv_active then asks for `check`: needs_check_hbv_status).
    implies: list[Slug] = []
    may_be: list[Slug] = []
    check: Slug | None = None


class ObservationCodes(Strict):
    unit: str | None = None
    codes: list[Coding]


CodeListTarget = Literal["condition", "risk_factor", "therapy", "observation"]


class CodeListEntry(Strict):
    """Codes added to a condition, risk factor, therapy or observation attribute, from one
    cited source (a value set, a Synthea module, the ICD-10-CM tabular, a product label).

    Kept apart from the entities so each list names where it comes from; loading folds the
    codes into the target's `codes` (an observation attribute is created with `unit` if new).
    """

    id: Slug
    source: Slug
    adds_to: CodeListTarget
    target: Annotated[str, Field(min_length=1, max_length=80)]
    unit: str | None = None
    note: str | None = Field(default=None, max_length=2000)
    codes: list[Coding] = Field(min_length=1)


_TARGET_SECTIONS = {
    "condition": "conditions",
    "risk_factor": "risk_factors",
    "therapy": "therapies",
}


def _fold_code_lists(raw: Any) -> Any:
    """The catalog with each code list's codes added to its target (before validation, so
    the usual checks, duplicate codes included, see the folded result)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("code_lists"), list):
        return raw
    folded = copy.deepcopy(raw)
    for entry in folded["code_lists"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("codes"), list):
            continue  # validation of the entry itself reports it
        kind, target = entry.get("adds_to"), entry.get("target")
        if kind == "observation":
            observations = folded.setdefault("observation_codes", {})
            if isinstance(observations, dict):
                spec = observations.setdefault(target, {"codes": []})
                if isinstance(spec, dict):
                    if entry.get("unit") and "unit" not in spec:
                        spec["unit"] = entry["unit"]
                    spec.setdefault("codes", []).extend(entry["codes"])
            continue
        section = folded.get(_TARGET_SECTIONS.get(str(kind), ""))
        for item in section if isinstance(section, list) else []:
            if isinstance(item, dict) and item.get("id") == target:
                item.setdefault("codes", [])
                item["codes"] = [*item["codes"], *entry["codes"]]
                break
    return folded


class ScalesEntry(Strict):
    source: Slug
    status_value: dict[IndicationStatus, Annotated[float, Field(ge=0, le=1)]]
    certainty_factor: dict[Certainty, Annotated[float, Field(ge=0, le=1)]]
    serious_per_100_worst: Annotated[float, Field(gt=0)]
    common_per_100_worst: Annotated[float, Field(gt=0)]
    serious_share: Annotated[float, Field(ge=0, le=1)]
    hours_per_month_worst: Annotated[float, Field(gt=0)]
    needles_per_month_worst: Annotated[float, Field(gt=0)]
    needle_share: Annotated[float, Field(ge=0, le=1)]
    default_travel_hours: NonNegative
    annual_cost_ceiling: dict[Currency, Annotated[float, Field(gt=0)]]
    availability_value: dict[AvailabilityStatus, Annotated[float, Field(ge=0, le=1)]]
    lead_time_days_worst: Annotated[float, Field(gt=0)]
    onset_days_worst: Annotated[float, Field(gt=0)]
    urgent_onset_days: NonNegative
    unknown_value: Annotated[float, Field(ge=0, le=1)]
    # The regions whose cost, availability and burden the catalog check requires.
    regions_served: list[Region] = ["US"]

    @model_validator(mode="after")
    def _complete(self) -> ScalesEntry:
        missing = [s.value for s in IndicationStatus if s not in self.status_value]
        missing += [c.value for c in Certainty if c not in self.certainty_factor]
        missing += [a.value for a in AvailabilityStatus if a not in self.availability_value]
        if missing:
            raise ValueError(f"scales lack values for: {', '.join(missing)}")
        return self


class ConditionEntry(Strict):
    id: Slug
    name: Text
    summary: str | None = Field(default=None, max_length=4000)
    source: Slug
    codes: list[Coding] = []


class HomeRule(Strict):
    after_supervised_infusions: Annotated[int, Field(ge=0, le=50)]
    text: Text
    source: Slug


class Administration(Strict):
    """How a therapy is given. A number left out is *unknown* (the engine then uses the middle
    value and says so); write 0 only when the source says there is none, e.g. watchful waiting."""

    hours_per_session: NonNegative | None = None
    hours_per_session_range: tuple[NonNegative, NonNegative] | None = None
    sessions_per_month: NonNegative | None = None
    needles_per_session: NonNegative | None = None
    text: str | None = Field(default=None, max_length=4000)
    source: Slug


class AdverseEffectEntry(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timing: EffectTiming = "any"
    serious: bool = False
    per_100: Annotated[float, Field(ge=0, le=100)] | None = None
    frequency: str | None = Field(default=None, max_length=500)
    source: Slug


class ComparisonEntry(Strict):
    """One fact compared with a value (the rule language: docs/catalog-format.md)."""

    attribute: Annotated[str, Field(max_length=40)]
    operator: Operator
    value: float | bool | str | list[str]


class AllEntry(Strict):
    all: list[TermEntry] = Field(min_length=1)


class AnyEntry(Strict):
    any: list[TermEntry] = Field(min_length=1)


TermEntry = ComparisonEntry | AllEntry | AnyEntry


def term_of(entry: TermEntry) -> Term:
    """The engine's condition for a file condition; `ValueError` for an unknown fact."""
    if isinstance(entry, AllEntry):
        return AllOf(tuple(term_of(inner) for inner in entry.all))
    if isinstance(entry, AnyEntry):
        return AnyOf(tuple(term_of(inner) for inner in entry.any))
    try:
        attribute = PatientAttribute(entry.attribute)
    except ValueError:
        raise ValueError(
            f"unknown fact '{entry.attribute}' (facts: "
            + ", ".join(a.value for a in PatientAttribute)
            + ")"
        ) from None
    value = tuple(entry.value) if isinstance(entry.value, list) else entry.value
    return Comparison(attribute, entry.operator, value)


def term_entry(term: Term) -> TermEntry:
    if isinstance(term, AllOf):
        return AllEntry(all=[term_entry(inner) for inner in term.terms])
    if isinstance(term, AnyOf):
        return AnyEntry(any=[term_entry(inner) for inner in term.terms])
    value = list(term.value) if isinstance(term.value, tuple) else term.value
    return ComparisonEntry(attribute=term.attribute.value, operator=term.operator, value=value)


def term_factors(term: Term) -> list[str]:
    """The risk factor ids a condition names."""
    if isinstance(term, AllOf | AnyOf):
        return [f for inner in term.terms for f in term_factors(inner)]
    return [str(term.value)] if term.attribute is PatientAttribute.RISK_FACTOR else []


class RiskRuleEntry(Strict):
    """A rule: one comparison (`attribute`, `operator`, `value`) or a condition over several
    facts (`when`: all / any of comparisons). Exactly one of the two forms."""

    id: Slug
    code: Slug
    attribute: Annotated[str, Field(max_length=40)] | None = None
    operator: Operator | None = None
    value: float | bool | str | list[str] | None = None
    when: TermEntry | None = None
    severity: Severity
    safety_penalty: Annotated[float, Field(ge=0, le=1)] = 0.0
    ask_if_unknown: bool | None = None
    condition: Slug | None = None
    message: Text
    curator_note: str | None = Field(default=None, max_length=4000)
    source: Slug

    @model_validator(mode="after")
    def _one_form(self) -> RiskRuleEntry:
        simple = (self.attribute, self.operator, self.value)
        if self.when is None and None in simple:
            raise ValueError(
                f"rule {self.id}: give `attribute`, `operator` and `value`, or a `when` condition"
            )
        if self.when is not None and any(x is not None for x in simple):
            raise ValueError(f"rule {self.id}: give either a comparison or `when`, not both")
        try:
            check_term(self.term(), f"rule {self.id}")
        except InvalidRule as exc:
            raise ValueError(str(exc)) from None
        except ValueError as exc:
            raise ValueError(f"rule {self.id}: {exc}") from None
        return self

    def term(self) -> Term:
        if self.when is not None:
            return term_of(self.when)
        assert self.attribute is not None
        assert self.operator is not None
        assert self.value is not None
        return term_of(
            ComparisonEntry(attribute=self.attribute, operator=self.operator, value=self.value)
        )


def check_rule_shape(
    attribute: PatientAttribute, operator: Operator, value: float | bool | str
) -> None:
    """Refuse a comparison the evaluator could never match (e.g. `egfr has 30`)."""
    try:
        check_term(Comparison(attribute, operator, value), "rule")
    except InvalidRule as exc:
        raise ValueError(str(exc)) from None


class CostEntry(Strict):
    amount: NonNegative
    currency: Currency
    basis: CostBasis
    region: Region
    year: int = Field(ge=1900, le=2100)
    condition: Slug | None = None
    note: str | None = Field(default=None, max_length=1000)
    source: Slug


class AvailabilityEntry(Strict):
    region: Region
    status: AvailabilityStatus
    lead_time_days: NonNegative | None = None
    as_of: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    note: str | None = Field(default=None, max_length=1000)
    source: Slug


class AbsenceEntry(Strict):
    """A cited absence: no public source gives this fact (`what`) for the therapy (in `region`,
    or anywhere when none); `source` names the search, `note` says what was looked for. The
    catalog check (`db.catalog_check`) accepts it in place of the fact; with `condition`, only
    for that condition (a course known for one condition and not for another). A condition
    that is not (or no longer) in the catalog is not refused: the absence then covers nothing,
    so a misspelt one leaves its gap for the check to report."""

    what: Literal["cost", "availability", "adverse_effect_frequency", "burden", "course"]
    region: Region | None = None
    condition: Slug | None = None  # limits it to the therapy's use in one condition
    note: Text
    source: Slug


class TherapyEntry(Strict):
    id: Slug
    name: Text
    modality: Slug
    route: Slug
    summary: Text
    source: Slug
    care_settings: list[CareSetting]
    codes: list[Coding] = []
    home_rule: HomeRule | None = None
    administration: Administration
    onset_days: NonNegative | None = None
    absences: list[AbsenceEntry] = []
    adverse_effects: list[AdverseEffectEntry] = []
    risk_rules: list[RiskRuleEntry] = []
    costs: list[CostEntry] = []
    availability: list[AvailabilityEntry] = []


class ComparatorEntry(Strict):
    label: Text
    events: Annotated[int, Field(ge=0, le=1000)]


class FigureEntry(Strict):
    """An outcome figure: `events` people out of `per` (100, or 1,000 for rare events), whole
    numbers, counted per person (`denominator: people`), over `time_frame`. `id` is a stable
    slug other systems may keep (icon arrays, decision records)."""

    id: Slug | None = None
    measure: Text
    population: Text
    time_frame: Text | None = None
    events: Annotated[int, Field(ge=0, le=1000)]
    per: Literal[100, 1000] = 100
    denominator: Literal["people"] | None = None
    comparator: ComparatorEntry | None = None
    higher_is_better: bool = True
    certainty: Certainty | None = None
    uncertainty: str | None = None
    curator_note: str | None = Field(default=None, max_length=4000)
    source: Slug


PHASES = ("newly_diagnosed", "persistent", "chronic")


class PlaceEntry(Strict):
    """An indication's place: what must come before it, in which phases, and whether the
    same therapy may be tried again after a poor response (docs/decisions/0004)."""

    requires: Requirement = Requirement.NONE
    therapies: list[Slug] = []
    phases: list[Literal["newly_diagnosed", "persistent", "chronic"]] = []
    retreatment: list[Literal["inadequate_response", "not_tolerated"]] = []
    message: str | None = Field(default=None, max_length=1000)
    source: Slug | None = None
    curator_note: str | None = Field(default=None, max_length=4000)


CourseKind = Literal["short", "ongoing", "cycles", "once"]


class CourseEntry(Strict):
    """How long the treatment lasts for this condition, as its source gives it: `kind` is
    `short` (a course of days or weeks, then it stops), `ongoing` (kept up, reviewed),
    `cycles` (repeated courses with gaps) or `once` (a one-time procedure); `text` says it in
    plain words for patients (shown in the option grid); `source` is required, as a duration
    with no source is not recorded at all (the grid then says so)."""

    kind: CourseKind
    text: Annotated[str, Field(min_length=1, max_length=300)]
    source: Slug


class IndicationEntry(Strict):
    therapy: Slug
    condition: Slug
    status: IndicationStatus
    certainty: Certainty
    evidence_grade: str | None = Field(default=None, max_length=500)
    population: str | None = Field(default=None, max_length=1000)
    onset_days: NonNegative | None = None
    sessions_per_month: NonNegative | None = None
    hours_per_session: NonNegative | None = None
    courses_per_year: NonNegative | None = None
    # Grams (per-gram price) or mg (per-mg price) each session per kg of body weight.
    dose_per_kg: NonNegative | None = None
    # How long the treatment lasts for this condition (None: no source gives it).
    course: CourseEntry | None = None
    place: PlaceEntry | None = None
    message: str | None = Field(default=None, max_length=1000)  # patient-facing
    note: str | None = Field(default=None, max_length=4000)  # curator-only
    source: Slug
    figures: list[FigureEntry] = []


def indication_problems(entry: IndicationEntry, therapy_ids: set[str] | None = None) -> list[str]:
    """What makes an indication incoherent, each naming the record (empty: none)."""
    where = f"indication {entry.therapy}/{entry.condition}"
    problems: list[str] = []
    place = entry.place
    if place is None:
        if entry.status not in EXCLUDED_STATUSES:
            problems.append(f"{where}: no place (what must come before it); add `place:`")
    else:
        if place.requires in (Requirement.RESPONSE_TO, Requirement.ADD_ON_TO) and not (
            place.therapies
        ):
            problems.append(
                f"{where}: place requires {place.requires.value} but names no therapies"
            )
        if entry.therapy in place.therapies:
            problems.append(f"{where}: place names the therapy itself")
        if therapy_ids is not None:
            for therapy in place.therapies:
                if therapy not in therapy_ids:
                    problems.append(f"{where}: place names unknown therapy '{therapy}'")
    for position, figure in enumerate(entry.figures):
        named = f"{where} figure {figure.id or position + 1} '{figure.measure}'"
        if figure.id is None:
            problems.append(f"{named}: no stable id")
        if not figure.time_frame:
            problems.append(f"{named}: no time frame")
        if figure.denominator != "people":
            problems.append(f"{named}: the denominator must be people (`denominator: people`)")
        if figure.events > figure.per or (
            figure.comparator is not None and figure.comparator.events > figure.per
        ):
            problems.append(f"{named}: more events than people ({figure.per})")
    return problems


AllEntry.model_rebuild()
AnyEntry.model_rebuild()
RiskRuleEntry.model_rebuild()


class CatalogFile(Strict):
    format: Literal[1] = 1
    sources: list[SourceEntry]
    risk_factors: list[RiskFactorEntry]
    observation_codes: dict[str, ObservationCodes] = {}
    scales: ScalesEntry
    conditions: list[ConditionEntry]
    therapies: list[TherapyEntry]
    indications: list[IndicationEntry]
    code_lists: list[CodeListEntry] = []

    @model_validator(mode="before")
    @classmethod
    def _code_lists_into_targets(cls, data: Any) -> Any:
        return _fold_code_lists(data)

    @model_validator(mode="after")
    def _references_resolve(self) -> CatalogFile:
        problems: list[str] = []
        source_ids = _unique("source", [s.id for s in self.sources], problems)
        condition_ids = _unique("condition", [c.id for c in self.conditions], problems)
        therapy_ids = _unique("therapy", [t.id for t in self.therapies], problems)
        factor_ids = _unique("risk factor", [f.id for f in self.risk_factors], problems)
        _unique("risk rule", [r.id for t in self.therapies for r in t.risk_rules], problems)
        _unique(
            "outcome figure id",
            [f.id for i in self.indications for f in i.figures if f.id is not None],
            problems,
        )
        for factor_entry in self.risk_factors:
            for other in [*factor_entry.implies, *factor_entry.may_be]:
                if other not in factor_ids:
                    problems.append(f"risk factor {factor_entry.id}: unknown risk factor '{other}'")
        _unique(
            "indication",
            [f"{i.therapy}/{i.condition}" for i in self.indications],
            problems,
        )
        _unique(
            "condition code",
            [f"{c.system}|{c.code}" for cond in self.conditions for c in cond.codes],
            problems,
        )

        def need_source(where: str, source: str) -> None:
            if source not in source_ids:
                problems.append(f"{where}: unknown source '{source}'")

        need_source("scales", self.scales.source)
        targets = {
            "condition": condition_ids,
            "risk_factor": factor_ids,
            "therapy": therapy_ids,
            "observation": set(self.observation_codes),
        }
        _unique("code list", [c.id for c in self.code_lists], problems)
        for code_list in self.code_lists:
            need_source(f"code list {code_list.id}", code_list.source)
            if code_list.target not in targets[code_list.adds_to]:
                problems.append(
                    f"code list {code_list.id}: unknown {code_list.adds_to} '{code_list.target}'"
                )
        for condition in self.conditions:
            need_source(f"condition {condition.id}", condition.source)
        for therapy in self.therapies:
            where = f"therapy {therapy.id}"
            need_source(where, therapy.source)
            need_source(f"{where} administration", therapy.administration.source)
            if therapy.home_rule is not None:
                need_source(f"{where} home_rule", therapy.home_rule.source)
                if CareSetting.HOME not in therapy.care_settings:
                    problems.append(f"{where}: home_rule given but home is not a care setting")
            for absence in therapy.absences:
                need_source(f"{where} absence {absence.what}", absence.source)
            for effect in therapy.adverse_effects:
                need_source(f"{where} adverse effect {effect.name}", effect.source)
            for rule in therapy.risk_rules:
                need_source(f"{where} risk rule {rule.id}", rule.source)
                if rule.condition is not None and rule.condition not in condition_ids:
                    problems.append(f"risk rule {rule.id}: unknown condition '{rule.condition}'")
                for factor in term_factors(rule.term()):
                    if factor not in factor_ids:
                        problems.append(f"risk rule {rule.id}: unknown risk factor '{factor}'")
            for cost in therapy.costs:
                need_source(f"{where} cost {cost.region}", cost.source)
                if cost.condition is not None and cost.condition not in condition_ids:
                    problems.append(f"{where} cost: unknown condition '{cost.condition}'")
            regions = [a.region for a in therapy.availability]
            _unique(f"{where} availability region", regions, problems)
            for availability in therapy.availability:
                need_source(f"{where} availability {availability.region}", availability.source)
        for indication in self.indications:
            where = f"indication {indication.therapy}/{indication.condition}"
            need_source(where, indication.source)
            if indication.therapy not in therapy_ids:
                problems.append(f"{where}: unknown therapy")
            if indication.condition not in condition_ids:
                problems.append(f"{where}: unknown condition")
            problems.extend(indication_problems(indication, therapy_ids))
            if indication.place is not None and indication.place.source is not None:
                need_source(f"{where} place", indication.place.source)
            if indication.course is not None:
                need_source(f"{where} course", indication.course.source)
            for figure in indication.figures:
                need_source(f"{where} figure '{figure.measure}'", figure.source)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _unique(what: str, ids: list[str], problems: list[str]) -> set[str]:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            problems.append(f"duplicate {what} '{item}'")
        seen.add(item)
    return seen


class CatalogFileError(Exception):
    """The file cannot be read or does not match the catalog schema; nothing was written."""


def parse_catalog(text: str) -> CatalogFile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogFileError(f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogFileError(
            "a catalog file is a YAML mapping with the keys in docs/catalog-format.md"
        )
    try:
        return CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise CatalogFileError(_describe(exc)) from exc


def load_catalog_file(path: str | Path) -> CatalogFile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogFileError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_catalog(text)


def dump_catalog(catalog: CatalogFile) -> str:
    # Code lists are already folded into their targets; dumping both would add them twice.
    data = catalog.model_dump(
        mode="json", exclude_none=True, exclude_defaults=False, exclude={"code_lists"}
    )
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors()[:20]:
        path = ".".join(str(p) for p in error["loc"]) or "(file)"
        lines.append(f"{path}: {error['msg']}")
    more = exc.error_count() - 20
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


if __name__ == "__main__":  # pragma: no cover - a curator's quick check
    import sys

    catalog = load_catalog_file(sys.argv[1] if len(sys.argv) > 1 else SEED_CATALOG)
    print(f"ok: {len(catalog.therapies)} therapies, {len(catalog.indications)} indications")
