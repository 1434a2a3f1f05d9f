"""The decision engine's one entry point: `rank(snapshot, case, preferences, weights) -> Result`.

Steps (DESIGN.md "Scoring semantics"):
1. the case's condition must be in the snapshot (`UnknownCondition` otherwise);
2. every therapy in the snapshot, by id: screened for applicability and hard constraints
   (`scoring.exclusions`) — excluded with its reasons — or valued on the six criteria
   (`scoring.criteria`) against the catalog's fixed scales;
3. the patient's importance ratings normalised (`scoring.weights`);
4. the options scored by the chosen method (`scoring.methods`) and ordered by
   (-score, therapy id);
5. the stability of the first place under one-way weight changes (`scoring.stability`).

The order reflects the patient's stated priorities, nothing more: no text the engine writes says
which option to choose. Pure and deterministic: no I/O, clock, randomness or logging; every
float in the result is rounded to 6 decimals, so the same input and catalog version give the
same result, byte for byte once serialised.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from scoring.criteria import (
    AnnualCost,
    PartialValue,
    annual_cost,
    availability,
    convenience,
    cost,
    efficacy,
    number,
    onset,
    safety,
)
from scoring.errors import UnknownCondition
from scoring.exclusions import ATTRIBUTE_WORDS, STATUS_SENTENCES, _settings
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
    Criterion,
    CriterionScore,
    Exclusion,
    Method,
    Operator,
    PatientAttribute,
    PatientCase,
    Preferences,
    RankedOption,
    Reason,
    Result,
    RiskRule,
    Severity,
    Stability,
    WeightRange,
    Weights,
)
from scoring.precision import fixed, fixed_all
from scoring.rules import _COMPARE, evaluate
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


# How a rule is evaluated (see `_CompiledRule`).
_HAS, _NUMBER, _YES_NO, _GENERIC = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    """A risk rule checked once against the vocabulary of `scoring.rules.evaluate`, so that a
    case only does the comparison. A rule outside that vocabulary is `_GENERIC` and goes
    through `evaluate` itself, which raises exactly as it always did."""

    rule: RiskRule
    position: int  # in the therapy's rules: the key of the safety memo
    kind: int
    field: str
    value: float | bool | str
    compare: Callable[[float, float], bool] | None
    absolute: bool
    exclusion: Reason  # the reason when an absolute rule applies
    check: Reason  # the caution when an absolute rule's attribute is unknown

    @classmethod
    def build(cls, rule: RiskRule, position: int) -> _CompiledRule:
        attribute = rule.attribute
        value = rule.value
        if attribute is PatientAttribute.RISK_FACTOR:
            ok = rule.operator is Operator.HAS and isinstance(value, str)
            kind = _HAS if ok else _GENERIC
        elif rule.operator is Operator.HAS:
            kind = _GENERIC
        elif isinstance(value, bool):
            kind = _YES_NO if rule.operator is Operator.EQ else _GENERIC
        elif isinstance(value, str):
            kind = _GENERIC
        elif rule.operator in _COMPARE:
            kind = _NUMBER
        else:
            kind = _GENERIC
        return cls(
            rule,
            position,
            kind,
            attribute.value,
            value,
            _COMPARE.get(rule.operator),
            rule.severity is Severity.ABSOLUTE,
            Reason(rule.code, rule.message, rule.source_id),
            Reason(
                f"needs_check_{attribute.value}",
                f"Not known for this patient: {ATTRIBUTE_WORDS[attribute]}. "
                f"A contraindication for this therapy depends on it: {rule.message}",
                rule.source_id,
            ),
        )

    def applies(self, case: PatientCase) -> bool | None:
        """`scoring.rules.evaluate(self.rule, case)`, without re-checking the rule's shape."""
        kind = self.kind
        if kind == _HAS:
            return self.value in case.risk_factors
        if kind == _GENERIC:
            return evaluate(self.rule, case)
        observed = getattr(case, self.field)
        if observed is None:
            return None
        if kind == _NUMBER:
            if isinstance(observed, bool):
                return evaluate(self.rule, case)  # a yes/no fact compared with a number: raises
            assert self.compare is not None
            assert not isinstance(self.value, str)
            return self.compare(observed, self.value)
        if isinstance(observed, bool):
            return observed == self.value
        return evaluate(self.rule, case)


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
    annual: AnnualCost | None
    # The rules split by how they are read: `has` rules on a risk factor (most of them) are
    # decided by set membership alone and are skipped together when the patient has none of
    # their factors; every other rule is evaluated one by one.
    scalar_rules: tuple[_CompiledRule, ...]
    factor_rules: tuple[_CompiledRule, ...]
    factors: frozenset[str]
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
    snapshot: CatalogSnapshot
    # (urgent) -> the deduplicated cautions of the static partials
    static_cautions: tuple[tuple[Reason, ...], tuple[Reason, ...]] = ((), ())
    # (urgent) -> the sources those cautions and the static partials cite
    static_cited: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    conveniences: dict[tuple[bool, float | None, int], _Shown] = field(default_factory=dict)
    safeties: dict[tuple[int, ...], _Shown] = field(default_factory=dict)
    setting_fits: dict[frozenset[CareSetting], int] = field(default_factory=dict)
    exclusions: dict[tuple[object, ...], Exclusion] = field(default_factory=dict)
    evidence: dict[frozenset[str], tuple[Citation, ...]] = field(default_factory=dict)
    plain_evidence: dict[tuple[int, tuple[str, ...]], tuple[Citation, ...]] = field(
        default_factory=dict
    )

    def convenience(self, home: bool, case: PatientCase, preferences: Preferences) -> _Shown:
        """Convenience depends only on being at home now, travel and supervised infusions."""
        key = (home, case.travel_hours, case.prior_supervised_infusions)
        shown = self.conveniences.get(key)
        if shown is None:
            shown = _Shown.of(convenience(self.facts, case, preferences, self.snapshot.scales))
            if len(self.conveniences) < _CONVENIENCE_SLOTS:
                self.conveniences[key] = shown
        return shown

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

    def cautioned_safety(self, cautioning: list[_CompiledRule]) -> _Shown:
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


def _prepare(facts: TherapyFacts, region: str, snapshot: CatalogSnapshot) -> _Prepared:
    scales = snapshot.scales
    therapy = facts.therapy
    annual = annual_cost(facts)
    static = (
        efficacy(facts, scales),
        safety(facts.adverse_effects, (), scales),
        cost(annual, scales),
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

    # The screens of `scoring.exclusions.screen` that no patient fact can change.
    applicability: tuple[Reason, ...] = ()
    if indication is None:
        applicability = (
            Reason(
                "no_indication",
                "The catalog holds no evidence for this therapy in this condition.",
                None,
            ),
        )
    elif indication.status in EXCLUDED_STATUSES:
        applicability = (
            Reason(
                indication.status.value,
                indication.note or STATUS_SENTENCES[indication.status],
                indication.source_id,
            ),
        )
    unavailable: tuple[Reason, ...] = ()
    row = facts.availability
    if row is not None and row.status is AvailabilityStatus.UNAVAILABLE:
        as_of = f" as of {row.as_of}" if row.as_of else ""
        unavailable = (
            Reason(
                "unavailable_in_region",
                f"Reported as not available in {row.region}{as_of}.",
                row.source_id,
            ),
        )

    efficacy_, safety_, cost_, availability_, onset_, onset_urgent = static
    rules = [_CompiledRule.build(rule, i) for i, rule in enumerate(facts.risk_rules)]
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
        scalar_rules=tuple(r for r in rules if r.kind != _HAS),
        factor_rules=tuple(r for r in rules if r.kind == _HAS),
        factors=frozenset(str(r.value) for r in rules if r.kind == _HAS),
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
        result = tuple(
            _prepare(facts, region, snapshot)
            for facts in self.index.facts(condition_id=condition_id, region=region)
        )
        if region in self.index.regions:
            # Only regions the catalog knows are remembered: free text cannot grow the memo.
            self.prepared[key] = result
        return result


# A snapshot is immutable and shared by every request of one catalog version, so what depends
# only on it is computed once per version instead of once per case: that is what lets one core
# score thousands of cases a second. Keyed by identity; each entry holds the snapshot itself, so
# an id cannot be reused while its entry lives. A few entries cover a version change.
_VIEW_SLOTS = 4
_views: dict[int, _SnapshotView] = {}
_views_lock = threading.Lock()


def _view(snapshot: CatalogSnapshot) -> _SnapshotView:
    view = _views.get(id(snapshot))
    if view is not None and view.index.snapshot is snapshot:
        return view
    view = _SnapshotView(SnapshotIndex.build(snapshot))
    with _views_lock:
        while len(_views) >= _VIEW_SLOTS:
            del _views[next(iter(_views))]
        _views[id(snapshot)] = view
    return view


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
CRITERION_SCORE_FIELDS = ("value", "weight", "contribution", "explanation")
WEIGHT_RANGE_FIELDS = ("criterion", "weight", "lower", "upper")


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


@dataclass(slots=True)
class _Candidate:
    prepared: _Prepared
    shown: tuple[_Shown, ...]
    row: list[float]
    cautions: tuple[Reason, ...]
    evidence: tuple[Citation, ...]


def _exclusion(
    prepared: _Prepared,
    excluding: list[_CompiledRule],
    settings_key: frozenset[CareSetting] | None,
    over_budget: float | None,
) -> Exclusion:
    """The exclusion of `scoring.exclusions.screen`, reasons in its order: applicability,
    absolute rules, care setting, budget, availability. Memoised by the facts it depends on;
    an `Exclusion` is immutable, so results may share one."""
    positions = tuple([c.position for c in excluding]) if excluding else ()
    key = (positions, settings_key, over_budget)
    exclusion = prepared.exclusions.get(key)
    if exclusion is not None:
        return exclusion
    reasons = list(prepared.applicability)
    reasons.extend(c.exclusion for c in excluding)
    if settings_key is not None:
        reasons.append(
            Reason(
                "care_setting_unavailable",
                f"Given only in: {_settings(prepared.offered)}; the patient accepts: "
                f"{_settings(settings_key)}.",
                prepared.facts.therapy.source_id,
            )
        )
    if over_budget is not None:
        annual = prepared.annual
        assert annual is not None
        reasons.append(
            Reason(
                "over_budget",
                f"About {number(round(annual.amount))} {annual.currency} a year, above the "
                f"stated limit of {number(over_budget)} a year.",
                annual.source_id,
            )
        )
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

    Under the weighted sum each criterion's contribution is weight x value and the
    contributions add up to the score; under TOPSIS the contribution is weight x the
    vector-normalised value and they do not add up to the score (the closeness).

    The per-case work is kept to what the patient's facts change (see `_Prepared`); the
    result is the same, float for float and string for string, as applying
    `scoring.rules.assess`, `scoring.exclusions.screen` and `scoring.criteria` to every
    therapy afresh.
    """
    view = _view(snapshot)
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
    risk_factors = case.risk_factors
    travel = case.travel_hours

    candidates: list[_Candidate] = []
    excluded: list[Exclusion] = []
    unknown: set[PatientAttribute] = set()
    fsum = math.fsum
    for prepared in view.therapies(condition_id=case.condition_id, region=preferences.region):
        # Risk rules (`scoring.rules.assess`).
        excluding: list[_CompiledRule] = []
        checks: list[Reason] = []
        cautioning: list[_CompiledRule] = []
        found_unknown: list[PatientAttribute] = []
        for compiled in prepared.scalar_rules:
            applies = compiled.applies(case)
            if applies is None:
                found_unknown.append(compiled.rule.attribute)
                if compiled.absolute:
                    checks.append(compiled.check)
            elif applies:
                (excluding if compiled.absolute else cautioning).append(compiled)
        if risk_factors and not prepared.factors.isdisjoint(risk_factors):
            _factor_rules(prepared, risk_factors, excluding, cautioning)

        # Screens (`scoring.exclusions.screen`).
        settings_key: frozenset[CareSetting] | None = None
        home_rule = prepared.home_after is None or prior >= prepared.home_after
        # The memos are read here first; a method call per therapy is a measurable share.
        fit = _FITS if not wanted else prepared.setting_fits.get(wanted)
        if fit is None:
            fit = prepared.setting_fit(wanted)
        if fit == _NO_SHARED_SETTING:
            settings_key = wanted
        elif fit == _HOME_ONLY_SHARED and not home_rule:
            checks.append(_home_caution(prepared, case))
        annual = prepared.annual
        over_budget = (
            limit if annual is not None and limit is not None and annual.amount > limit else None
        )
        if (
            prepared.always_excluded
            or excluding
            or settings_key is not None
            or over_budget is not None
        ):
            excluded.append(_exclusion(prepared, excluding, settings_key, over_budget))
            continue
        # Only attributes that could change a ranked option's place are worth asking for.
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
            prepared.cost,
            prepared.availability,
            onset_,
        )
        if not checks and not cautioning and not convenience_.partial.cautions:
            # No patient fact adds a caution: the static ones, and the evidence they cite.
            kept = prepared.static_cautions[urgent]
            evidence = prepared.plain_cited(urgent, convenience_)
        else:
            cautions = list(checks)
            for item in shown:
                cautions.extend(item.partial.cautions)
            kept = _dedupe(cautions)
            cited_set = {c.source for c in kept if c.source is not None}
            for item in shown:
                cited_set.update(item.partial.sources)
            evidence = prepared.cited(frozenset(cited_set))
        row = [
            prepared.efficacy.value,
            safety_.value,
            convenience_.value,
            prepared.cost.value,
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
            RankedOption(
                prepared.therapy_id,
                prepared.name,
                position,
                scores[i],
                criteria,
                candidate.cautions,
                candidate.evidence,
                prepared.outcomes,
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
        unknown=tuple(sorted(attribute.value for attribute in unknown)),
    )


def _position(compiled: _CompiledRule) -> int:
    return compiled.position


def _factor_rules(
    prepared: _Prepared,
    risk_factors: frozenset[str],
    excluding: list[_CompiledRule],
    cautioning: list[_CompiledRule],
) -> None:
    """Add the `has` rules whose risk factor the patient has, keeping every list in the
    rules' order (sorted by id, as `scoring.rules.assess` keeps it)."""
    had_excluding, had_cautioning = bool(excluding), bool(cautioning)
    for compiled in prepared.factor_rules:
        if compiled.value in risk_factors:
            (excluding if compiled.absolute else cautioning).append(compiled)
    if had_excluding:
        excluding.sort(key=_position)
    if had_cautioning:
        cautioning.sort(key=_position)


def _home_caution(prepared: _Prepared, case: PatientCase) -> Reason:
    therapy = prepared.facts.therapy
    return Reason(
        "home_after_supervised_infusions",
        f"Home use starts after {therapy.home_after_supervised} supervised infusions "
        f"in a clinic; this patient has had {case.prior_supervised_infusions}.",
        therapy.home_rule_source_id or therapy.source_id,
    )


def _weighted_sum_stability(
    therapy_ids: list[str],
    matrix: list[list[float]],
    raw_scores: list[float],
    scores: list[float],
    weights: list[float],
) -> Stability:
    """`scoring.stability.stability` for the weighted sum, the exact same arithmetic with the
    rounding inlined (`weighted_sum_bounds` gives every criterion's bounds in one pass)."""
    rounded = fixed_all(weights)
    if len(matrix) >= 2:
        bounds = weighted_sum_bounds(matrix, raw_scores, weights)
        ranges = tuple(
            _weight_range(
                criterion,
                w,
                None if lower is None else fixed(lower),
                None if upper is None else fixed(upper),
            )
            for criterion, w, (lower, upper) in zip(CRITERIA, rounded, bounds, strict=True)
        )
    else:
        ranges = tuple(
            _weight_range(criterion, w, None, None)
            for criterion, w in zip(CRITERIA, rounded, strict=True)
        )
    return Stability(
        therapy_ids[0] if therapy_ids else None,
        fixed(scores[0] - scores[1]) if len(scores) >= 2 else None,
        ranges,
    )
