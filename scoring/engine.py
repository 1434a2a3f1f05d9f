"""The decision engine's one entry point: `rank(snapshot, case, preferences, weights) -> Result`.

Steps (DESIGN.md "Scoring semantics"; README "What the engine does"):
1. the case's condition must be in the snapshot (`UnknownCondition` otherwise);
2. every therapy in the snapshot, by id, ends in exactly one list: `excluded` (applicability, a
   prior inadequate response or intolerance, absolute risk rules read by `scoring.rules`, care
   setting, budget, availability), `later` (its place needs something first that the stated
   history or phase does not show), or valued on the six criteria (`scoring.criteria`) against
   the catalog's fixed scales; `scoring.exclusions` words every reason;
3. the patient's importance ratings normalised (`scoring.weights`);
4. the options scored by the chosen method (`scoring.methods`) and ordered by
   (-score, therapy id);
5. the stability of the first place under one-way weight changes (`scoring.stability`).

What does not depend on the patient is prepared once per snapshot (`prepare`) and kept on the
snapshot; a case only does what its facts change.

The order reflects the patient's stated priorities, nothing more: no text the engine writes says
which option to choose. Pure and deterministic: no I/O, clock, randomness or logging; every
float in the result is rounded to 6 decimals, so the same input and catalog version give the
same result, byte for byte once serialised.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from scoring.criteria import (
    AnnualCost,
    PartialValue,
    annual_cost,
    availability,
    convenience,
    cost,
    cost_needs_weight,
    efficacy,
    is_weight_based,
    onset,
    safety,
)
from scoring.errors import UnknownCondition
from scoring.exclusions import (
    BUDGET_UNCHECKED,
    NO_INDICATION,
    care_setting_reason,
    history_check,
    home_caution,
    later_reason,
    needs_check,
    over_budget_reason,
    phase_check,
    phase_reason,
    prior_reason,
    status_reason,
    unavailable_reason,
)
from scoring.facts import SnapshotIndex, TherapyFacts
from scoring.frequencies import statement
from scoring.methods import topsis_closeness, vector_normalise
from scoring.model import (
    CRITERIA,
    EXCLUDED_STATUSES,
    AvailabilityStatus,
    CareSetting,
    CatalogSnapshot,
    Citation,
    Comparison,
    Cost,
    Criterion,
    CriterionScore,
    Exclusion,
    Indication,
    Method,
    Operator,
    OutcomeFigure,
    PatientCase,
    Preferences,
    PriorOutcome,
    RankedOption,
    Reason,
    Requirement,
    Result,
    Stability,
    WeightRange,
    Weights,
)
from scoring.precision import fixed, fixed_all
from scoring.rules import CompiledRule, Facts, missing
from scoring.stability import stability, weighted_sum_bounds
from scoring.weights import normalise

TOPSIS_NOTE = (
    " Under TOPSIS the contribution is the weight x this value divided by the length of the "
    "criterion's column over the options ranked here; contributions do not add up to the score, "
    "which is the closeness to the ideal option."
)

# Every memo below is bounded: it only ever holds what a handful of patient facts can produce,
# and stops growing (it is then merely a cache miss, never a wrong answer) past these sizes.
_CONVENIENCE_SLOTS = 64
_EFFICACY, _SAFETY, _CONVENIENCE, _COST, _AVAILABILITY, _ONSET = CRITERIA
_MEMO_SLOTS = 256
_HOME_ONLY = frozenset({CareSetting.HOME})
_FITS, _NO_SHARED_SETTING, _HOME_ONLY_SHARED = 0, 1, 2


# --------------------------------------------------------------------------------------------
# Patient-independent preparation (once per snapshot, condition and region)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Shown:
    """A partial value with what the result shows of it computed once: the rounded value and
    the explanation under each method. Rounding and concatenating per case was a large part
    of the cost of a case."""

    partial: PartialValue
    value: float  # unrounded, for the scores
    rounded: float
    explanations: tuple[str, str]  # (weighted sum, TOPSIS)

    @classmethod
    def of(cls, partial: PartialValue) -> _Shown:
        return cls(
            partial,
            partial.value,
            fixed(partial.value),
            (partial.explanation, partial.explanation + TOPSIS_NOTE),
        )


def _citations(source_ids: Iterable[str], snapshot: CatalogSnapshot) -> tuple[Citation, ...]:
    citations: list[Citation] = []
    for source_id in sorted(source_ids):
        source = snapshot.sources.get(source_id)
        if source is None:
            # A snapshot is validated before use; should an id still be missing, show the id
            # rather than hide that a figure rests on it.
            citations.append(Citation(source_id, source_id, None, None))
        else:
            citations.append(Citation(source_id, source.citation, source.year, source.url))
    return tuple(citations)


def _dedupe(cautions: Iterable[Reason]) -> tuple[Reason, ...]:
    seen: set[str] = set()
    kept: list[Reason] = []
    for caution in cautions:
        if caution.code not in seen:
            seen.add(caution.code)
            kept.append(caution)
    return tuple(kept)


@dataclass(slots=True)
class _Prepared:
    """What the engine knows about one therapy before it sees the patient.

    Everything that does not depend on the patient is computed here once: the screens that
    exclude whatever the patient (no or an excluded indication, unavailable in the region),
    the rules compiled, the five static partial values with their texts, the cautions and
    evidence of an option no patient fact adds to. Small bounded memos keep what depends on
    few patient facts (convenience, safety under relative rules, exclusions, evidence).

    The memos are plain dicts shared by every thread scoring on the snapshot: a lookup or an
    insert is atomic under the GIL, and two threads filling the same entry store equal values,
    so no lock is needed; an insert is skipped once a memo holds its bound.
    """

    facts: TherapyFacts
    therapy_id: str
    name: str
    annual: AnnualCost | None  # None when unknown, or when it follows the weight
    weight_based: bool  # priced per gram or mg of a weight-based dose (`cost_for`)
    # The rules split by how they are read: a rule that is one `has` on a risk factor (most of
    # them) is decided by set membership alone, and they are skipped together when the patient
    # has none of their factors; every other rule runs its compiled condition.
    scalar_rules: tuple[CompiledRule, ...]
    factor_rules: tuple[CompiledRule, ...]
    factors: frozenset[str]
    # Each of `factor_rules` with its risk factor, read once here rather than per case.
    factor_pairs: tuple[tuple[str, CompiledRule], ...]
    place: _Place
    applicability: tuple[Reason, ...]  # no_indication / an excluded status
    unavailable: tuple[Reason, ...]  # unavailable_in_region
    always_excluded: bool  # either of the two above: excluded whatever the patient
    offered: frozenset[CareSetting]
    home_offered: bool
    home_after: int | None
    efficacy: _Shown
    safety: _Shown  # with no relative rule applying; most patients
    cost: _Shown
    availability: _Shown
    onsets: tuple[_Shown, _Shown]  # (not urgent, urgent)
    source_ids: frozenset[str]
    citations: tuple[Citation, ...]
    outcomes: tuple[str, ...]
    figures: tuple[OutcomeFigure, ...]
    snapshot: CatalogSnapshot
    # (urgent) -> the deduplicated cautions of the static partials
    static_cautions: tuple[tuple[Reason, ...], tuple[Reason, ...]] = ((), ())
    # (urgent) -> the sources those cautions and the static partials cite
    static_cited: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    conveniences: dict[tuple[bool, float | None, int], _Shown] = field(default_factory=dict)
    costs_by_weight: dict[float, tuple[_Shown, AnnualCost | None]] = field(default_factory=dict)
    safeties: dict[tuple[int, ...], _Shown] = field(default_factory=dict)
    setting_fits: dict[frozenset[CareSetting], int] = field(default_factory=dict)
    exclusions: dict[tuple[object, ...], Exclusion] = field(default_factory=dict)
    evidence: dict[frozenset[str], tuple[Citation, ...]] = field(default_factory=dict)
    plain_evidence: dict[tuple[int, tuple[str, ...]], tuple[Citation, ...]] = field(
        default_factory=dict
    )
    # (rule position, fact) -> its needs_check caution; worded once, not per case.
    fact_checks: dict[tuple[int, str], Reason] = field(default_factory=dict)
    # What a case's checks and relative rules make of the cautions and evidence, keyed by the
    # facts they depend on: most cases repeat a few such combinations.
    shown_cautions: dict[tuple[object, ...], tuple[tuple[Reason, ...], tuple[Citation, ...]]] = (
        field(default_factory=dict)
    )

    def fact_check(self, compiled: CompiledRule, fact: str) -> Reason:
        key = (compiled.position, fact)
        reason = self.fact_checks.get(key)
        if reason is None:
            reason = needs_check(fact, compiled.rule)
            if len(self.fact_checks) < _MEMO_SLOTS:
                self.fact_checks[key] = reason
        return reason

    def convenience(self, home: bool, case: PatientCase, preferences: Preferences) -> _Shown:
        """Convenience depends only on being at home now, travel and supervised infusions."""
        key = (home, case.travel_hours, case.prior_supervised_infusions)
        shown = self.conveniences.get(key)
        if shown is None:
            shown = _Shown.of(convenience(self.facts, case, preferences, self.snapshot.scales))
            if len(self.conveniences) < _CONVENIENCE_SLOTS:
                self.conveniences[key] = shown
        return shown

    def cost_for(self, weight_kg: float) -> tuple[_Shown, AnnualCost | None]:
        """The cost value and annual cost of a weight-based price for this weight (kg)."""
        found = self.costs_by_weight.get(weight_kg)
        if found is None:
            annual = annual_cost(self.facts, weight_kg)
            found = (_Shown.of(cost(annual, self.snapshot.scales)), annual)
            if len(self.costs_by_weight) < _MEMO_SLOTS:
                self.costs_by_weight[weight_kg] = found
        return found

    def setting_fit(self, wanted: frozenset[CareSetting]) -> int:
        """How the accepted settings meet the therapy's (`scoring.exclusions.screen`):
        `_FITS`, `_NO_SHARED_SETTING` or `_HOME_ONLY_SHARED`; at most 8 sets of settings."""
        fit = self.setting_fits.get(wanted)
        if fit is None:
            fit = _FITS
            if wanted and self.offered:
                shared = wanted & self.offered
                if not shared:
                    fit = _NO_SHARED_SETTING
                elif shared == _HOME_ONLY:
                    fit = _HOME_ONLY_SHARED
            if len(self.setting_fits) < _MEMO_SLOTS:
                self.setting_fits[wanted] = fit
        return fit

    def cautioned_safety(self, cautioning: list[CompiledRule]) -> _Shown:
        """Safety lowered by the relative rules that apply, keyed by which rules they are."""
        key = tuple(c.position for c in cautioning)
        shown = self.safeties.get(key)
        if shown is None:
            rules = tuple(c.rule for c in cautioning)
            partial = safety(self.facts.adverse_effects, rules, self.snapshot.scales)
            shown = _Shown.of(partial)
            if len(self.safeties) < _MEMO_SLOTS:
                self.safeties[key] = shown
        return shown

    def plain_cited(self, urgent: int, convenience: _Shown) -> tuple[Citation, ...]:
        """The evidence for an option no patient fact adds a caution to: the static partials'
        sources and the convenience value's (which depend only on the therapy's facts, so
        this memo holds one or two entries)."""
        key = (urgent, convenience.partial.sources)
        evidence = self.plain_evidence.get(key)
        if evidence is None:
            sources = frozenset(convenience.partial.sources) | self.static_cited[urgent]
            evidence = self.cited(sources)
            if len(self.plain_evidence) < _MEMO_SLOTS:
                self.plain_evidence[key] = evidence
        return evidence

    def cited(self, sources: frozenset[str]) -> tuple[Citation, ...]:
        """The evidence for an option citing `sources`: every source its numbers and cautions
        rest on, i.e. the therapy's own (`source_ids`) and any the patient's facts added."""
        if sources <= self.source_ids:
            return self.citations
        evidence = self.evidence.get(sources)
        if evidence is None:
            evidence = _citations(self.source_ids | sources, self.snapshot)
            if len(self.evidence) < _MEMO_SLOTS:
                self.evidence[sources] = evidence
        return evidence


def _is_one_factor(compiled: CompiledRule) -> bool:
    when = compiled.rule.when
    return isinstance(when, Comparison) and when.operator is Operator.HAS


def _factor(compiled: CompiledRule) -> str:
    when = compiled.rule.when
    assert isinstance(when, Comparison)
    return str(when.value)


_NOT_HISTORY_BOUND = 0  # a place that needs nothing before it
_MET, _UNMET, _OPEN = 1, 2, 3


@dataclass(frozen=True, slots=True)
class _Place:
    """An indication's place, read for the engine: what must come before, in which phases, and
    the reasons already worded (`scoring.exclusions`)."""

    requires: Requirement
    before: frozenset[str]  # the therapies the requirement names (first-line ones resolved)
    phases: frozenset[str]
    retreatment: frozenset[PriorOutcome]
    later: Reason | None
    history_check: Reason | None
    wrong_phase: Reason | None
    phase_check: Reason | None
    prior: dict[PriorOutcome, Reason]
    active: bool = False  # whether it needs anything (a prior treatment or a phase) at all

    @classmethod
    def of(
        cls,
        indication: Indication | None,
        first_line: frozenset[str],
        names: dict[str, str],
    ) -> _Place:
        if indication is None:
            return _NO_PLACE
        place = indication.place
        source = place.source_id or indication.source_id
        before = frozenset(place.therapies)
        if place.requires is Requirement.INADEQUATE_FIRST_LINE and not before:
            before = first_line - {indication.therapy_id}
        bound = place.requires is not Requirement.NONE
        return cls(
            place.requires,
            before,
            frozenset(place.phases),
            frozenset(place.retreatment),
            later_reason(indication, names) if bound else None,
            history_check(indication, names) if bound else None,
            phase_reason(indication) if place.phases else None,
            phase_check(indication) if place.phases else None,
            _prior_reasons(source),
            bound or bool(place.phases),
        )

    def prerequisite(self, therapy_id: str, history: _History | None) -> int:
        """`_MET`, `_UNMET`, or `_OPEN` (history unknown, or the prerequisite given with its
        outcome unknown); `_NOT_HISTORY_BOUND` for a place that needs nothing before it.

        A patient already on this therapy, or who responded to it, has reached its decision
        point whatever else the history lists: continuing what works is never "later"."""
        requires = self.requires
        if requires is Requirement.NONE:
            return _NOT_HISTORY_BOUND
        if history is None:
            return _OPEN
        if therapy_id in history.ongoing or PriorOutcome.RESPONDED in history.given.get(
            therapy_id, ()
        ):
            return _MET
        if requires is Requirement.ADD_ON_TO:
            return _MET if not self.before.isdisjoint(history.ongoing) else _UNMET
        wanted = _RESPONDED if requires is Requirement.RESPONSE_TO else _FAILED
        state = _UNMET
        for therapy_id in self.before & history.given.keys():
            outcomes = history.given[therapy_id]
            if not outcomes.isdisjoint(wanted):
                return _MET
            if None in outcomes:
                state = _OPEN
        return state


def _prior_reasons(source_id: str | None) -> dict[PriorOutcome, Reason]:
    return {
        outcome: prior_reason(outcome, source_id)
        for outcome in (PriorOutcome.INADEQUATE_RESPONSE, PriorOutcome.NOT_TOLERATED)
    }


# The place of a therapy with no indication for the condition: excluded whatever the history.
_NO_PLACE = _Place(
    Requirement.NONE, frozenset(), frozenset(), frozenset(), None, None, None, None, {}
)
_RESPONDED: frozenset[PriorOutcome | None] = frozenset({PriorOutcome.RESPONDED})
_FAILED: frozenset[PriorOutcome | None] = frozenset(
    {PriorOutcome.INADEQUATE_RESPONSE, PriorOutcome.NOT_TOLERATED}
)


@dataclass(frozen=True, slots=True)
class _History:
    """A case's stated treatment history: per therapy the outcomes given, and what is ongoing."""

    given: dict[str, frozenset[PriorOutcome | None]]
    ongoing: frozenset[str]

    @classmethod
    def of(cls, case: PatientCase) -> _History | None:
        if case.prior_treatments is None:
            return None
        given: dict[str, set[PriorOutcome | None]] = {}
        for prior in case.prior_treatments:
            given.setdefault(prior.therapy_id, set()).add(prior.outcome)
        return cls(
            {therapy_id: frozenset(outcomes) for therapy_id, outcomes in given.items()},
            frozenset(p.therapy_id for p in case.prior_treatments if p.ongoing),
        )

    def failed(self, therapy_id: str, place: _Place) -> PriorOutcome | None:
        """The prior outcome that rules the therapy out (not tolerated first), if any."""
        outcomes = self.given.get(therapy_id)
        if not outcomes:
            return None
        for outcome in (PriorOutcome.NOT_TOLERATED, PriorOutcome.INADEQUATE_RESPONSE):
            if outcome in outcomes and outcome not in place.retreatment:
                return outcome
        return None


def _prepare(
    facts: TherapyFacts,
    region: str,
    snapshot: CatalogSnapshot,
    first_line: frozenset[str],
    names: dict[str, str],
) -> _Prepared:
    scales = snapshot.scales
    therapy = facts.therapy
    weight_based = is_weight_based(facts)
    # A weight-based price has no annual cost until the weight is known (`_Prepared.cost_for`).
    annual = None if weight_based else annual_cost(facts)
    place = _Place.of(facts.indication, first_line, names)
    static = (
        efficacy(facts, scales),
        safety(facts.adverse_effects, (), scales),
        cost_needs_weight(facts, scales) if weight_based else cost(annual, scales),
        availability(facts, region, scales),
        onset(facts, Preferences(urgent=False), scales),
        onset(facts, Preferences(urgent=True), scales),
    )
    source_ids = {therapy.source_id}
    indication = facts.indication
    if indication is not None:
        source_ids.add(indication.source_id)
        source_ids.update(figure.source_id for figure in indication.figures)
    for partial in static:
        source_ids.update(partial.sources)
        source_ids.update(c.source for c in partial.cautions if c.source is not None)

    # The screens that no patient fact can change.
    applicability: tuple[Reason, ...] = ()
    if indication is None:
        applicability = (NO_INDICATION,)
    elif indication.status in EXCLUDED_STATUSES:
        applicability = (status_reason(indication),)
    unavailable: tuple[Reason, ...] = ()
    row = facts.availability
    if row is not None and row.status is AvailabilityStatus.UNAVAILABLE:
        unavailable = (unavailable_reason(row),)

    efficacy_, safety_, cost_, availability_, onset_, onset_urgent = static
    rules = [CompiledRule.of(rule, i) for i, rule in enumerate(facts.risk_rules)]
    factor_rules = [r for r in rules if _is_one_factor(r)]
    static_cautions: list[tuple[Reason, ...]] = []
    static_cited: list[frozenset[str]] = []
    for timing in (onset_, onset_urgent):
        partials = (efficacy_, safety_, cost_, availability_, timing)
        kept = _dedupe(c for partial in partials for c in partial.cautions)
        cited = {c.source for c in kept if c.source is not None}
        for partial in partials:
            cited.update(partial.sources)
        static_cautions.append(kept)
        static_cited.append(frozenset(cited))

    return _Prepared(
        facts=facts,
        therapy_id=therapy.id,
        name=therapy.name,
        annual=annual,
        weight_based=weight_based,
        scalar_rules=tuple(r for r in rules if r not in factor_rules),
        factor_rules=tuple(factor_rules),
        factors=frozenset(_factor(r) for r in factor_rules),
        factor_pairs=tuple((_factor(r), r) for r in factor_rules),
        place=place,
        applicability=applicability,
        unavailable=unavailable,
        always_excluded=bool(applicability or unavailable),
        offered=therapy.care_settings,
        home_offered=CareSetting.HOME in therapy.care_settings,
        home_after=therapy.home_after_supervised,
        efficacy=_Shown.of(efficacy_),
        safety=_Shown.of(safety_),
        cost=_Shown.of(cost_),
        availability=_Shown.of(availability_),
        onsets=(_Shown.of(onset_), _Shown.of(onset_urgent)),
        source_ids=frozenset(source_ids),
        citations=_citations(source_ids, snapshot),
        outcomes=tuple(statement(f) for f in indication.figures) if indication else (),
        figures=indication.figures if indication else (),
        snapshot=snapshot,
        static_cautions=(static_cautions[0], static_cautions[1]),
        static_cited=(static_cited[0], static_cited[1]),
    )


@dataclass(slots=True)
class _SnapshotView:
    """A snapshot's index, and its patient-independent valuations per (condition, region)."""

    index: SnapshotIndex
    prepared: dict[tuple[str, str], tuple[_Prepared, ...]] = field(default_factory=dict)

    def therapies(self, *, condition_id: str, region: str) -> tuple[_Prepared, ...]:
        key = (condition_id, region)
        cached = self.prepared.get(key)
        if cached is not None:
            return cached
        snapshot = self.index.snapshot
        rows = self.index.facts(condition_id=condition_id, region=region)
        names = {t.id: t.name for t in snapshot.therapies}
        # The condition's first-line options: rankable, and needing nothing before them.
        first_line = frozenset(
            f.therapy.id
            for f in rows
            if f.indication is not None
            and f.indication.status not in EXCLUDED_STATUSES
            and f.indication.place.requires is Requirement.NONE
        )
        result = tuple(_prepare(f, region, snapshot, first_line, names) for f in rows)
        if region in self.index.regions:
            # Only regions the catalog knows are remembered: free text cannot grow the memo.
            self.prepared[key] = result
        return result


def prepare(snapshot: CatalogSnapshot) -> _SnapshotView:
    """What the engine computes once per snapshot, kept on the snapshot itself.

    A snapshot is immutable and shared by every request of one catalog version, so what depends
    only on it is computed once per version instead of once per case: that is what lets one core
    score thousands of cases a second. Kept in `snapshot.prepared` (not a module-level cache), so
    a replayed old release carries its own and never pushes out the live one. Two threads may
    both prepare a fresh snapshot; they store equal values and the last one stays.
    """
    view = snapshot.prepared.get("engine")
    if isinstance(view, _SnapshotView):
        return view
    view = _SnapshotView(SnapshotIndex.build(snapshot))
    snapshot.prepared["engine"] = view
    return view


def option_costs(
    snapshot: CatalogSnapshot, *, condition_id: str, region: str, weight_kg: float | None
) -> dict[str, tuple[Cost | None, AnnualCost | None]]:
    """Per therapy the catalog names for the condition: the cost row the engine prices it with
    in the region, and the annual cost the cost criterion states ("About 202,944 USD a year:
    80 kg x ..."), for this weight when the price follows a weight-based dose (None when it
    cannot be counted). The same rows and computation as `rank`, so a page that shows a cost
    (the option grid) never disagrees with the explanation."""
    costs: dict[str, tuple[Cost | None, AnnualCost | None]] = {}
    for prepared in prepare(snapshot).therapies(condition_id=condition_id, region=region):
        annual = prepared.annual
        if prepared.weight_based and weight_kg is not None:
            annual = prepared.cost_for(weight_kg)[1]
        costs[prepared.therapy_id] = (prepared.facts.cost, annual)
    return costs


# --------------------------------------------------------------------------------------------
# Per case
# --------------------------------------------------------------------------------------------

# A frozen dataclass's `__init__` sets each field through `object.__setattr__`, about half a
# microsecond for a `CriterionScore`; a case builds six per ranked option and six weight ranges.
# These build the very same objects by writing the slots directly (the classes have no
# `__post_init__`; tests/scoring/test_engine_internals.py checks the fields still match).
_new = object.__new__
_set_score_value = getattr(CriterionScore, "value").__set__  # noqa: B009
_set_score_weight = getattr(CriterionScore, "weight").__set__  # noqa: B009
_set_score_contribution = getattr(CriterionScore, "contribution").__set__  # noqa: B009
_set_score_explanation = getattr(CriterionScore, "explanation").__set__  # noqa: B009
_set_range_criterion = getattr(WeightRange, "criterion").__set__  # noqa: B009
_set_range_weight = getattr(WeightRange, "weight").__set__  # noqa: B009
_set_range_lower = getattr(WeightRange, "lower").__set__  # noqa: B009
_set_range_upper = getattr(WeightRange, "upper").__set__  # noqa: B009
_set_option_therapy_id = getattr(RankedOption, "therapy_id").__set__  # noqa: B009
_set_option_name = getattr(RankedOption, "name").__set__  # noqa: B009
_set_option_rank = getattr(RankedOption, "rank").__set__  # noqa: B009
_set_option_score = getattr(RankedOption, "score").__set__  # noqa: B009
_set_option_criteria = getattr(RankedOption, "criteria").__set__  # noqa: B009
_set_option_cautions = getattr(RankedOption, "cautions").__set__  # noqa: B009
_set_option_evidence = getattr(RankedOption, "evidence").__set__  # noqa: B009
_set_option_outcomes = getattr(RankedOption, "outcomes").__set__  # noqa: B009
_set_option_outcome_figures = getattr(RankedOption, "outcome_figures").__set__  # noqa: B009
CRITERION_SCORE_FIELDS = ("value", "weight", "contribution", "explanation")
WEIGHT_RANGE_FIELDS = ("criterion", "weight", "lower", "upper")
RANKED_OPTION_FIELDS = (
    "therapy_id",
    "name",
    "rank",
    "score",
    "criteria",
    "cautions",
    "evidence",
    "outcomes",
    "outcome_figures",
)


def _criterion_score(
    value: float, weight: float, contribution: float, explanation: str
) -> CriterionScore:
    """`CriterionScore(value, weight, contribution, explanation)`, built faster."""
    score: CriterionScore = _new(CriterionScore)
    _set_score_value(score, value)
    _set_score_weight(score, weight)
    _set_score_contribution(score, contribution)
    _set_score_explanation(score, explanation)
    return score


def _weight_range(
    criterion: Criterion, weight: float, lower: float | None, upper: float | None
) -> WeightRange:
    """`WeightRange(criterion, weight, lower, upper)`, built faster."""
    weight_range: WeightRange = _new(WeightRange)
    _set_range_criterion(weight_range, criterion)
    _set_range_weight(weight_range, weight)
    _set_range_lower(weight_range, lower)
    _set_range_upper(weight_range, upper)
    return weight_range


def _ranked_option(
    therapy_id: str,
    name: str,
    rank: int,
    score: float,
    criteria: dict[Criterion, CriterionScore],
    cautions: tuple[Reason, ...],
    evidence: tuple[Citation, ...],
    outcomes: tuple[str, ...],
    outcome_figures: tuple[OutcomeFigure, ...],
) -> RankedOption:
    """`RankedOption(...)`, built faster: nine fields through `object.__setattr__` cost about
    1.5 µs an option, the slots written directly 0.8 µs."""
    option: RankedOption = _new(RankedOption)
    _set_option_therapy_id(option, therapy_id)
    _set_option_name(option, name)
    _set_option_rank(option, rank)
    _set_option_score(option, score)
    _set_option_criteria(option, criteria)
    _set_option_cautions(option, cautions)
    _set_option_evidence(option, evidence)
    _set_option_outcomes(option, outcomes)
    _set_option_outcome_figures(option, outcome_figures)
    return option


@dataclass(slots=True)
class _Candidate:
    prepared: _Prepared
    shown: tuple[_Shown, ...]
    row: list[float]
    cautions: tuple[Reason, ...]
    evidence: tuple[Citation, ...]


def _exclusion(
    prepared: _Prepared,
    failed: PriorOutcome | None,
    excluding: list[CompiledRule],
    settings_key: frozenset[CareSetting] | None,
    over_budget: float | None,
    annual: AnnualCost | None,
) -> Exclusion:
    """The exclusion, reasons in a stable order: applicability, a prior outcome, absolute rules
    (by rule id), care setting, budget, availability. Memoised by the facts it depends on; an
    `Exclusion` is immutable, so results may share one."""
    positions = tuple([c.position for c in excluding]) if excluding else ()
    # A weight-based cost differs between patients, so its amount is part of the key.
    amount = annual.amount if over_budget is not None and annual is not None else None
    key = (failed, positions, settings_key, over_budget, amount)
    exclusion = prepared.exclusions.get(key)
    if exclusion is not None:
        return exclusion
    reasons = list(prepared.applicability)
    if failed is not None:
        reasons.append(prepared.place.prior[failed])
    reasons.extend(Reason(c.rule.code, c.rule.message, c.rule.source_id) for c in excluding)
    if settings_key is not None:
        reasons.append(care_setting_reason(prepared.facts.therapy, settings_key))
    if over_budget is not None:
        assert annual is not None
        reasons.append(over_budget_reason(annual, over_budget))
    reasons.extend(prepared.unavailable)
    exclusion = Exclusion(prepared.therapy_id, prepared.name, tuple(reasons))
    if len(prepared.exclusions) < _MEMO_SLOTS:
        prepared.exclusions[key] = exclusion
    return exclusion


def rank(
    snapshot: CatalogSnapshot,
    case: PatientCase,
    preferences: Preferences,
    weights: Weights,
    *,
    method: Method = Method.WEIGHTED_SUM,
) -> Result:
    """Order the catalog's therapies for one patient by the patient's stated priorities.

    Raises `UnknownCondition` when `case.condition_id` is not in the snapshot and
    `InvalidWeights` when the ratings are not 0-10 or are all zero.

    Each therapy of the snapshot ends in exactly one list: `excluded` (applicability, a prior
    inadequate response or intolerance its place does not allow again, an absolute rule, care
    setting, budget, availability), `later` (its place needs something the stated history or
    phase does not show: code `later_decision_point`) or `ranked`. A history or phase that is
    not known never moves an option: it stays ranked with `needs_check_prior_treatment` or
    `needs_check_phase`.

    Under the weighted sum each criterion's contribution is weight x value and the
    contributions add up to the score; under TOPSIS the contribution is weight x the
    vector-normalised value and they do not add up to the score (the closeness).

    The per-case work is kept to what the patient's facts change (see `_Prepared`).
    """
    view = prepare(snapshot)
    if case.condition_id not in view.index.condition_ids:
        raise UnknownCondition(f"Unknown condition '{case.condition_id}'.")
    normalised = normalise(weights.ratings)
    weight_vector = [normalised[criterion] for criterion in CRITERIA]
    w0, w1, w2, w3, w4, w5 = weight_vector
    urgent = 1 if preferences.urgent else 0
    wanted = preferences.settings
    accepts_home = not wanted or CareSetting.HOME in wanted
    limit = preferences.max_annual_cost
    prior = case.prior_supervised_infusions
    facts = Facts.of(case, snapshot.factor_meanings)
    risk_factors = facts.factors
    # With factors left open (e.g. hbv_positive may be hbv_active), every rule runs its
    # condition, so an open factor reads as unknown rather than absent.
    open_factors = bool(facts.open_factors)
    travel = case.travel_hours
    history = _History.of(case)
    phase = case.phase

    candidates: list[_Candidate] = []
    excluded: list[Exclusion] = []
    later: list[Exclusion] = []
    unknown: set[str] = set()
    fsum = math.fsum
    for prepared in view.therapies(condition_id=case.condition_id, region=preferences.region):
        # Risk rules (`scoring.rules`).
        excluding: list[CompiledRule] = []
        checks: list[Reason] = []
        cautioning: list[CompiledRule] = []
        found_unknown: list[str] = []
        rules = prepared.scalar_rules + prepared.factor_rules if open_factors else None
        for compiled in rules or prepared.scalar_rules:
            applies = compiled.test(facts)
            if applies is None:
                lacking = missing(compiled.rule.when, facts)
                found_unknown.extend(lacking)
                if compiled.asks:
                    checks.extend(prepared.fact_check(compiled, fact) for fact in lacking)
            elif applies:
                (excluding if compiled.absolute else cautioning).append(compiled)
        if rules is None and risk_factors and not prepared.factors.isdisjoint(risk_factors):
            _factor_rules(prepared, risk_factors, excluding, cautioning)
        elif rules is not None:
            excluding.sort(key=_position)
            cautioning.sort(key=_position)

        # Screens (`scoring.exclusions` words them).
        place = prepared.place
        # A therapy without an indication is excluded as such; its history adds nothing.
        failed = (
            history.failed(prepared.therapy_id, place)
            if history is not None and place is not _NO_PLACE
            else None
        )
        settings_key: frozenset[CareSetting] | None = None
        home_rule = prepared.home_after is None or prior >= prepared.home_after
        # The memos are read here first; a method call per therapy is a measurable share.
        fit = _FITS if not wanted else prepared.setting_fits.get(wanted)
        if fit is None:
            fit = prepared.setting_fit(wanted)
        if fit == _NO_SHARED_SETTING:
            settings_key = wanted
        elif fit == _HOME_ONLY_SHARED and not home_rule:
            checks.append(home_caution(prepared.facts.therapy, prior))
        annual = prepared.annual
        cost_ = prepared.cost
        if prepared.weight_based and case.weight_kg is not None:
            cost_, annual = prepared.cost_for(case.weight_kg)
        over_budget = None
        if limit is not None:
            if annual is None:
                checks.append(BUDGET_UNCHECKED)
            elif annual.amount > limit:
                over_budget = limit
        if (
            prepared.always_excluded
            or failed is not None
            or excluding
            or settings_key is not None
            or over_budget is not None
        ):
            excluded.append(
                _exclusion(prepared, failed, excluding, settings_key, over_budget, annual)
            )
            continue

        # Decision point: what must come first, and the phase (most places need neither).
        if place.active:
            waits: list[Reason] = []
            state = place.prerequisite(prepared.therapy_id, history)
            if state == _UNMET:
                assert place.later is not None
                waits.append(place.later)
            elif state == _OPEN:
                assert place.history_check is not None
                checks.append(place.history_check)
            if place.phases:
                if phase is None:
                    assert place.phase_check is not None
                    checks.append(place.phase_check)
                elif phase not in place.phases:
                    assert place.wrong_phase is not None
                    waits.append(place.wrong_phase)
            if waits:
                later.append(Exclusion(prepared.therapy_id, prepared.name, _dedupe(waits)))
                continue
        # Only facts that could change a ranked option's place are worth asking for.
        unknown.update(found_unknown)

        safety_ = prepared.cautioned_safety(cautioning) if cautioning else prepared.safety
        home = prepared.home_offered and accepts_home and home_rule
        convenience_ = prepared.conveniences.get((home, travel, prior))
        if convenience_ is None:
            convenience_ = prepared.convenience(home, case, preferences)
        onset_ = prepared.onsets[urgent]
        shown = (
            prepared.efficacy,
            safety_,
            convenience_,
            cost_,
            prepared.availability,
            onset_,
        )
        if (
            not checks
            and not cautioning
            and not convenience_.partial.cautions
            and cost_ is prepared.cost
        ):
            # No patient fact adds a caution: the static ones, and the evidence they cite.
            kept = prepared.static_cautions[urgent]
            evidence = prepared.plain_cited(urgent, convenience_)
        else:
            # Checks and relative rules vary with few facts: memoised by what they depend on.
            # A weight-based cost shows no weight caution once the weight is known; every
            # known weight cites the same price, so whether it is known is the whole key.
            key = (
                tuple(checks),
                tuple([c.position for c in cautioning]),
                urgent,
                home,
                travel,
                prior,
                cost_ is prepared.cost,
            )
            memo = prepared.shown_cautions.get(key)
            if memo is None:
                cautions = list(checks)
                for item in shown:
                    cautions.extend(item.partial.cautions)
                kept = _dedupe(cautions)
                cited_set = {c.source for c in kept if c.source is not None}
                for item in shown:
                    cited_set.update(item.partial.sources)
                memo = (kept, prepared.cited(frozenset(cited_set)))
                if len(prepared.shown_cautions) < _MEMO_SLOTS:
                    prepared.shown_cautions[key] = memo
            kept, evidence = memo
        row = [
            prepared.efficacy.value,
            safety_.value,
            convenience_.value,
            cost_.value,
            prepared.availability.value,
            onset_.value,
        ]
        candidates.append(_Candidate(prepared, shown, row, kept, evidence))

    matrix = [c.row for c in candidates]
    if method is Method.WEIGHTED_SUM:
        raw_scores = [
            fsum((w0 * v0, w1 * v1, w2 * v2, w3 * v3, w4 * v4, w5 * v5))
            for v0, v1, v2, v3, v4, v5 in matrix
        ]
        shares = matrix
        text = 0
    else:
        shares = vector_normalise(matrix)
        raw_scores = topsis_closeness(shares, weight_vector)
        text = 1
    scores = fixed_all([min(1.0, max(0.0, s)) for s in raw_scores])
    order = sorted(
        range(len(candidates)), key=lambda i: (-scores[i], candidates[i].prepared.therapy_id)
    )

    ranked: list[RankedOption] = []
    for position, i in enumerate(order, start=1):
        candidate = candidates[i]
        prepared = candidate.prepared
        e0, e1, e2, e3, e4, e5 = candidate.shown
        s0, s1, s2, s3, s4, s5 = shares[i]
        c0, c1, c2, c3, c4, c5 = fixed_all((w0 * s0, w1 * s1, w2 * s2, w3 * s3, w4 * s4, w5 * s5))
        # Written out rather than a comprehension over CRITERIA: this runs per ranked option.
        criteria = {
            _EFFICACY: _criterion_score(e0.rounded, w0, c0, e0.explanations[text]),
            _SAFETY: _criterion_score(e1.rounded, w1, c1, e1.explanations[text]),
            _CONVENIENCE: _criterion_score(e2.rounded, w2, c2, e2.explanations[text]),
            _COST: _criterion_score(e3.rounded, w3, c3, e3.explanations[text]),
            _AVAILABILITY: _criterion_score(e4.rounded, w4, c4, e4.explanations[text]),
            _ONSET: _criterion_score(e5.rounded, w5, c5, e5.explanations[text]),
        }
        ranked.append(
            _ranked_option(
                prepared.therapy_id,
                prepared.name,
                position,
                scores[i],
                criteria,
                candidate.cautions,
                candidate.evidence,
                prepared.outcomes,
                prepared.figures,
            )
        )

    ordered_ids = [candidates[i].prepared.therapy_id for i in order]
    ordered_matrix = [matrix[i] for i in order]
    ordered_raw = [raw_scores[i] for i in order]
    ordered_scores = [scores[i] for i in order]
    if method is Method.WEIGHTED_SUM:
        stable = _weighted_sum_stability(
            ordered_ids, ordered_matrix, ordered_raw, ordered_scores, weight_vector
        )
    else:
        stable = stability(
            therapy_ids=ordered_ids,
            matrix=ordered_matrix,
            raw_scores=ordered_raw,
            scores=ordered_scores,
            weights=weight_vector,
            method=method,
        )
    return Result(
        catalog_version=snapshot.version,
        method=method,
        condition_id=case.condition_id,
        ranked=tuple(ranked),
        excluded=tuple(excluded),
        stability=stable,
        weights=normalised,
        unknown=tuple(sorted(unknown)),
        later=tuple(later),
        not_indicated_count=view.index.not_indicated_count(case.condition_id),
    )


def _position(compiled: CompiledRule) -> int:
    return compiled.position


def _factor_rules(
    prepared: _Prepared,
    risk_factors: frozenset[str],
    excluding: list[CompiledRule],
    cautioning: list[CompiledRule],
) -> None:
    """Add the `has` rules whose risk factor the patient has, keeping every list in the
    rules' order (sorted by id, as `scoring.rules.assess` keeps it)."""
    had_excluding, had_cautioning = bool(excluding), bool(cautioning)
    for factor, compiled in prepared.factor_pairs:
        if factor in risk_factors:
            (excluding if compiled.absolute else cautioning).append(compiled)
    if had_excluding:
        excluding.sort(key=_position)
    if had_cautioning:
        cautioning.sort(key=_position)


def _weighted_sum_stability(
    therapy_ids: list[str],
    matrix: list[list[float]],
    raw_scores: list[float],
    scores: list[float],
    weights: list[float],
) -> Stability:
    """`scoring.stability.stability` for the weighted sum, the exact same arithmetic with the
    rounding inlined (`weighted_sum_bounds` gives every criterion's bounds in one pass).

    The weights are shown as given: `scoring.weights.normalise` has already rounded them to
    6 decimals (`apportion`), and `fixed` of such a number is the number itself, so rounding
    them again here (2.7 µs a case) changed nothing."""
    if len(matrix) >= 2:
        bounds = weighted_sum_bounds(matrix, raw_scores, weights)
        ranges = tuple(
            _weight_range(
                criterion,
                w,
                None if lower is None else fixed(lower),
                None if upper is None else fixed(upper),
            )
            for criterion, w, (lower, upper) in zip(CRITERIA, weights, bounds, strict=True)
        )
    else:
        ranges = tuple(
            _weight_range(criterion, w, None, None)
            for criterion, w in zip(CRITERIA, weights, strict=True)
        )
    return Stability(
        therapy_ids[0] if therapy_ids else None,
        fixed(scores[0] - scores[1]) if len(scores) >= 2 else None,
        ranges,
    )
