"""The catalog check: no option is ranked on missing data.

For every therapy a condition ranks (its indication's status is not an excluded one), the
catalog must hold, for each region the catalog serves (`scales.regions_served`), a cost and an
availability row, and for the therapy its burden (sessions a month, hours a session, needles a
session, from the indication or the therapy), how long the treatment lasts (the indication's
`course`) and at least one adverse effect of known frequency - or a cited absence (`absences:`
on the therapy, for one condition or all) that says no public source gives it and which
sources were searched. `tada catalog check FILE` prints every gap; the seed has none
(tests/db/test_catalog_check.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from db.catalog_file import CatalogFile, IndicationEntry, TherapyEntry
from scoring.model import EXCLUDED_STATUSES, WEIGHT_BASED_BASES


@dataclass(frozen=True, slots=True)
class Gap:
    """One missing fact: which therapy, for which condition and region, and what is missing."""

    therapy: str
    condition: str
    what: str
    region: str | None = None

    def __str__(self) -> str:
        where = f"{self.therapy} for {self.condition}"
        if self.region is not None:
            where += f" in {self.region}"
        return f"{where}: no {self.what} and no cited absence"


def _priced(therapy: TherapyEntry, indication: IndicationEntry, region: str) -> bool:
    """Whether a cost row prices the therapy for this condition in the region. A price per
    gram or mg counts only with the indication's `dose_per_kg` (the engine skips it without)."""
    for row in therapy.costs:
        if row.region != region or row.condition not in (None, indication.condition):
            continue
        if row.basis in WEIGHT_BASED_BASES and indication.dose_per_kg is None:
            continue
        return True
    return False


def _absent(therapy: TherapyEntry, what: str, region: str | None, condition: str) -> bool:
    return any(
        a.what == what
        and (a.region is None or region is None or a.region == region)
        and a.condition in (None, condition)
        for a in therapy.absences
    )


def _gaps_for(therapy: TherapyEntry, indication: IndicationEntry, regions: list[str]) -> list[Gap]:
    gaps: list[Gap] = []
    condition = indication.condition

    def need(present: bool, kind: str, what: str, region: str | None = None) -> None:
        if not present and not _absent(therapy, kind, region, condition):
            gaps.append(Gap(therapy.id, condition, what, region))

    administration = therapy.administration
    sessions = indication.sessions_per_month
    if sessions is None:
        sessions = administration.sessions_per_month
    hours = indication.hours_per_session
    if hours is None:
        hours = administration.hours_per_session
    need(sessions is not None, "burden", "schedule (sessions a month)")
    need(hours is not None, "burden", "time a session")
    need(administration.needles_per_session is not None, "burden", "needles a session")
    need(bool(therapy.care_settings), "burden", "care setting")
    need(indication.course is not None, "course", "course (how long it lasts)")
    need(
        any(e.per_100 is not None for e in therapy.adverse_effects),
        "adverse_effect_frequency",
        "adverse effect of known frequency",
    )
    for region in regions:
        need(_priced(therapy, indication, region), "cost", "cost", region)
        need(
            any(a.region == region for a in therapy.availability),
            "availability",
            "availability",
            region,
        )
    return gaps


def catalog_gaps(catalog: CatalogFile) -> list[Gap]:
    """Every gap, in the file's order of indications; empty when nothing is ranked on missing
    data."""
    therapies = {t.id: t for t in catalog.therapies}
    regions = list(catalog.scales.regions_served)
    gaps: list[Gap] = []
    for indication in catalog.indications:
        if indication.status in EXCLUDED_STATUSES:
            continue
        therapy = therapies.get(indication.therapy)
        if therapy is not None:
            gaps.extend(_gaps_for(therapy, indication, regions))
    return gaps
