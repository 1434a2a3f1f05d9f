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

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from scoring.criteria import (
    AnnualCost,
    PartialValue,
    annual_cost,
    at_home_now,
    availability,
    convenience,
    cost,
    efficacy,
    onset,
    safety,
)
from scoring.errors import UnknownCondition
from scoring.exclusions import screen
from scoring.facts import SnapshotIndex, TherapyFacts
from scoring.frequencies import statement
from scoring.methods import topsis_closeness, vector_normalise, weighted_sum
from scoring.model import (
    CRITERIA,
    CatalogSnapshot,
    Citation,
    CriterionScore,
    Exclusion,
    Method,
    PatientAttribute,
    PatientCase,
    Preferences,
    RankedOption,
    Reason,
    Result,
    Scales,
    Weights,
)
from scoring.precision import fixed
from scoring.rules import assess
from scoring.stability import stability
from scoring.weights import normalise

TOPSIS_NOTE = (
    " Under TOPSIS the contribution is the weight x this value divided by the length of the "
    "criterion's column over the options ranked here; contributions do not add up to the score, "
    "which is the closeness to the ideal option."
)


@dataclass(slots=True)
class _Prepared:
    """What the engine knows about one therapy before it sees the patient, and a small memo of
    the convenience values it has seen (they depend on few patient facts: home, travel, prior
    supervised infusions)."""

    facts: TherapyFacts
    annual: AnnualCost | None
    efficacy: PartialValue
    safety: PartialValue  # with no relative rule applying; most patients
    cost: PartialValue
    availability: PartialValue
    onset: PartialValue
    onset_urgent: PartialValue
    source_ids: frozenset[str]
    citations: tuple[Citation, ...]
    outcomes: tuple[str, ...]
    conveniences: dict[tuple[bool, float | None, int], PartialValue] = field(default_factory=dict)

    def convenience(
        self, case: PatientCase, preferences: Preferences, scales: Scales
    ) -> PartialValue:
        key = (
            at_home_now(self.facts.therapy, case, preferences),
            case.travel_hours,
            case.prior_supervised_infusions,
        )
        partial = self.conveniences.get(key)
        if partial is None:
            partial = convenience(self.facts, case, preferences, scales)
            if len(self.conveniences) < _CONVENIENCE_SLOTS:
                self.conveniences[key] = partial
        return partial


_CONVENIENCE_SLOTS = 64


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


def _prepare(facts: TherapyFacts, region: str, snapshot: CatalogSnapshot) -> _Prepared:
    scales = snapshot.scales
    annual = annual_cost(facts)
    static = (
        efficacy(facts, scales),
        safety(facts.adverse_effects, (), scales),
        cost(annual, scales),
        availability(facts, region, scales),
        onset(facts, Preferences(urgent=False), scales),
        onset(facts, Preferences(urgent=True), scales),
    )
    source_ids = {facts.therapy.source_id}
    if facts.indication is not None:
        source_ids.add(facts.indication.source_id)
        source_ids.update(figure.source_id for figure in facts.indication.figures)
    for partial in static:
        source_ids.update(partial.sources)
        source_ids.update(c.source for c in partial.cautions if c.source is not None)
    return _Prepared(
        facts,
        annual,
        *static,
        source_ids=frozenset(source_ids),
        citations=_citations(source_ids, snapshot),
        outcomes=tuple(statement(f) for f in facts.indication.figures) if facts.indication else (),
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


@dataclass(frozen=True, slots=True)
class _Candidate:
    facts: TherapyFacts
    partials: tuple[PartialValue, ...]
    cautions: tuple[Reason, ...]
    evidence: tuple[Citation, ...]
    outcomes: tuple[str, ...]


def _dedupe(cautions: list[Reason]) -> tuple[Reason, ...]:
    seen: set[str] = set()
    kept: list[Reason] = []
    for caution in cautions:
        if caution.code not in seen:
            seen.add(caution.code)
            kept.append(caution)
    return tuple(kept)


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
    """
    view = _view(snapshot)
    if case.condition_id not in view.index.condition_ids:
        raise UnknownCondition(f"Unknown condition '{case.condition_id}'.")
    normalised = normalise(weights.ratings)
    weight_vector = [normalised[criterion] for criterion in CRITERIA]
    scales = snapshot.scales
    region = preferences.region

    candidates: list[_Candidate] = []
    excluded: list[Exclusion] = []
    unknown: set[PatientAttribute] = set()
    for prepared in view.therapies(condition_id=case.condition_id, region=region):
        facts = prepared.facts
        findings = assess(facts.risk_rules, case)
        screening = screen(facts, findings, prepared.annual, case, preferences)
        if screening.excluded:
            excluded.append(Exclusion(facts.therapy.id, facts.therapy.name, screening.reasons))
            continue
        # Only attributes that could change a ranked option's place are worth asking for.
        unknown |= findings.unknown
        partials = (
            prepared.efficacy,
            (
                safety(facts.adverse_effects, findings.cautioning, scales)
                if findings.cautioning
                else prepared.safety
            ),
            prepared.convenience(case, preferences, scales),
            prepared.cost,
            prepared.availability,
            prepared.onset_urgent if preferences.urgent else prepared.onset,
        )
        cautions = list(screening.cautions)
        for partial in partials:
            cautions.extend(partial.cautions)
        kept = _dedupe(cautions)
        # Evidence: every source this option's numbers and cautions rest on.
        cited = {c.source for c in kept if c.source is not None}
        for partial in partials:
            cited.update(partial.sources)
        evidence = (
            prepared.citations
            if cited <= prepared.source_ids
            else _citations(prepared.source_ids | cited, snapshot)
        )
        candidates.append(_Candidate(facts, partials, kept, evidence, prepared.outcomes))

    matrix = [[partial.value for partial in c.partials] for c in candidates]
    if method is Method.WEIGHTED_SUM:
        raw_scores = weighted_sum(matrix, weight_vector)
        shares = matrix
        note = ""
    else:
        shares = vector_normalise(matrix)
        raw_scores = topsis_closeness(shares, weight_vector)
        note = TOPSIS_NOTE
    scores = [fixed(min(1.0, max(0.0, s))) for s in raw_scores]
    order = sorted(
        range(len(candidates)), key=lambda i: (-scores[i], candidates[i].facts.therapy.id)
    )

    ranked: list[RankedOption] = []
    for position, i in enumerate(order, start=1):
        candidate = candidates[i]
        therapy = candidate.facts.therapy
        criteria = {
            criterion: CriterionScore(
                value=fixed(partial.value),
                weight=weight_vector[k],
                contribution=fixed(weight_vector[k] * shares[i][k]),
                explanation=partial.explanation + note,
            )
            for k, (criterion, partial) in enumerate(zip(CRITERIA, candidate.partials, strict=True))
        }
        ranked.append(
            RankedOption(
                therapy_id=therapy.id,
                name=therapy.name,
                rank=position,
                score=scores[i],
                criteria=criteria,
                cautions=candidate.cautions,
                evidence=candidate.evidence,
                outcomes=candidate.outcomes,
            )
        )

    return Result(
        catalog_version=snapshot.version,
        method=method,
        condition_id=case.condition_id,
        ranked=tuple(ranked),
        excluded=tuple(excluded),
        stability=stability(
            therapy_ids=[candidates[i].facts.therapy.id for i in order],
            matrix=[matrix[i] for i in order],
            raw_scores=[raw_scores[i] for i in order],
            scores=[scores[i] for i in order],
            weights=weight_vector,
            method=method,
        ),
        weights=dict(normalised),
        unknown=tuple(sorted(attribute.value for attribute in unknown)),
    )
