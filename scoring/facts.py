"""The catalog facts the engine reads about one therapy, for one condition and one region.

A `CatalogSnapshot` holds flat tuples of rows; scoring one case needs, per therapy, its
indication for the case's condition, its risk rules and adverse effects, one cost row and one
availability row for the region. `SnapshotIndex` groups the rows once per snapshot, and
`SnapshotIndex.facts` picks those rows for a (condition, region) pair. Neither depends on the
patient, so the engine computes both once per snapshot (and pair) and reuses them: it scores
thousands of cases a second on one unchanging snapshot.

Row selection is deterministic: the same snapshot always yields the same rows, whatever the
order of its tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scoring.model import (
    WEIGHT_BASED_BASES,
    AdverseEffect,
    Availability,
    CatalogSnapshot,
    Cost,
    Indication,
    RiskRule,
    TherapyProfile,
)


@dataclass(frozen=True, slots=True)
class TherapyFacts:
    """Everything the catalog says about one therapy for one condition in one region."""

    therapy: TherapyProfile
    indication: Indication | None
    risk_rules: tuple[RiskRule, ...]
    adverse_effects: tuple[AdverseEffect, ...]
    cost: Cost | None
    availability: Availability | None

    @property
    def sessions_per_month(self) -> float | None:
        """Sessions a month: the indication's figure when it gives one, else the therapy's
        (None when neither is known)."""
        if self.indication is not None and self.indication.sessions_per_month is not None:
            return self.indication.sessions_per_month
        return self.therapy.sessions_per_month

    @property
    def hours_per_session(self) -> float | None:
        """Hours a session: the indication's figure when it gives one, else the therapy's
        (None when neither is known)."""
        if self.indication is not None and self.indication.hours_per_session is not None:
            return self.indication.hours_per_session
        return self.therapy.hours_per_session

    @property
    def onset_days(self) -> float | None:
        """Days to benefit: the indication's figure, else the therapy's, else unknown."""
        if self.indication is not None and self.indication.onset_days is not None:
            return self.indication.onset_days
        return self.therapy.onset_days

    @property
    def onset_source_id(self) -> str:
        if self.indication is not None and self.indication.onset_days is not None:
            return self.indication.source_id
        return self.therapy.source_id


def select_cost(
    rows: tuple[Cost, ...], *, condition_id: str, dose_per_kg: float | None = None
) -> Cost | None:
    """The one cost row that prices a therapy for this condition, from the region's rows.

    Rule: when the indication gives a weight-based dose (`dose_per_kg`), a price per gram or
    per mg is used first, so that the cost follows the patient's weight; without a dose such a
    price cannot be counted and is skipped. Then rows priced for the case's condition win over
    general rows (`condition_id` None); rows priced for another condition never apply. Among
    the candidates the latest `year` wins; a tie goes to the lowest amount (the conservative
    reading of a price range), then to currency, basis and source id so that the choice never
    depends on row order.
    """
    by_dose = [row for row in rows if row.basis in WEIGHT_BASED_BASES]
    if dose_per_kg is not None and by_dose:
        rows = tuple(by_dose)
    else:
        rows = tuple(row for row in rows if row.basis not in WEIGHT_BASED_BASES)
    specific = [row for row in rows if row.condition_id == condition_id]
    candidates = specific or [row for row in rows if row.condition_id is None]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda row: (-row.year, row.amount, row.currency, row.basis.value, row.source_id),
    )


def _dose(indication: Indication | None) -> float | None:
    return indication.dose_per_kg if indication is not None else None


def select_availability(rows: tuple[Availability, ...]) -> Availability | None:
    """The region's availability row: the most recent `as_of` (undated rows last), then by
    source id, so that the choice never depends on row order."""
    if not rows:
        return None
    return min(
        rows,
        key=lambda row: (row.as_of is None, _negate_text(row.as_of or ""), row.source_id),
    )


def _negate_text(text: str) -> tuple[int, ...]:
    # ISO dates sort as text; negating the code points sorts the latest first inside `min`.
    return tuple(-ord(char) for char in text)


@dataclass(slots=True)
class SnapshotIndex:
    """The snapshot's rows grouped by therapy (build it with `SnapshotIndex.build`)."""

    snapshot: CatalogSnapshot
    therapies: tuple[TherapyProfile, ...] = ()
    condition_ids: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    _indications: dict[tuple[str, str], Indication] = field(default_factory=dict)
    # Per condition, the therapies the catalog names for it (any status), sorted by id.
    _named: dict[str, list[TherapyProfile]] = field(default_factory=dict)
    _rules: dict[str, list[RiskRule]] = field(default_factory=dict)
    _effects: dict[str, list[AdverseEffect]] = field(default_factory=dict)
    _costs: dict[tuple[str, str], list[Cost]] = field(default_factory=dict)
    _availability: dict[tuple[str, str], list[Availability]] = field(default_factory=dict)

    @classmethod
    def build(cls, snapshot: CatalogSnapshot) -> SnapshotIndex:
        index = cls(
            snapshot=snapshot,
            therapies=tuple(sorted(snapshot.therapies, key=lambda t: t.id)),
            condition_ids=frozenset(c.id for c in snapshot.conditions),
            regions=frozenset(
                {cost.region for cost in snapshot.costs}
                | {row.region for row in snapshot.availability}
            ),
        )
        for indication in sorted(
            snapshot.indications, key=lambda i: (i.therapy_id, i.condition_id, i.source_id)
        ):
            # One indication per (therapy, condition); should a snapshot hold two, the first
            # by source id is used, never whichever happened to come last.
            index._indications.setdefault(
                (indication.therapy_id, indication.condition_id), indication
            )
        by_id = {therapy.id: therapy for therapy in index.therapies}
        for therapy_id, condition_id in sorted(index._indications):
            if therapy_id in by_id:
                index._named.setdefault(condition_id, []).append(by_id[therapy_id])
        for rule in sorted(snapshot.risk_rules, key=lambda r: r.id):
            index._rules.setdefault(rule.therapy_id, []).append(rule)
        for effect in sorted(
            snapshot.adverse_effects, key=lambda e: (e.therapy_id, e.name, e.source_id)
        ):
            index._effects.setdefault(effect.therapy_id, []).append(effect)
        for cost in snapshot.costs:
            index._costs.setdefault((cost.therapy_id, cost.region), []).append(cost)
        for row in snapshot.availability:
            index._availability.setdefault((row.therapy_id, row.region), []).append(row)
        return index

    def not_indicated_count(self, condition_id: str) -> int:
        """How many therapies the catalog does not name for this condition at all."""
        return len(self.therapies) - len(self._named.get(condition_id, ()))

    def facts(self, *, condition_id: str, region: str) -> tuple[TherapyFacts, ...]:
        """Per therapy the catalog names for this condition (sorted by id), the rows that bear
        on it in this region. A therapy with no indication for it is left out, so the work and
        the answer grow with the condition's options, not with the whole catalog."""
        return tuple(
            TherapyFacts(
                therapy=therapy,
                indication=self._indications.get((therapy.id, condition_id)),
                risk_rules=tuple(
                    rule
                    for rule in self._rules.get(therapy.id, ())
                    if rule.condition_id in (None, condition_id)
                ),
                adverse_effects=tuple(self._effects.get(therapy.id, ())),
                cost=select_cost(
                    tuple(self._costs.get((therapy.id, region), ())),
                    condition_id=condition_id,
                    dose_per_kg=_dose(self._indications.get((therapy.id, condition_id))),
                ),
                availability=select_availability(
                    tuple(self._availability.get((therapy.id, region), ()))
                ),
            )
            for therapy in self._named.get(condition_id, ())
        )
