"""Every patient-facing message the seed catalog and the engine's templates produce, and its
reading grade (Flesch-Kincaid, textstat 0.7.4, offline).

Therapy and condition names count as one plain word: a patient reading about IVIG for CIDP
knows those names from the clinic, and long drug names would otherwise dominate the grade.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import textstat

from db.catalog_file import CatalogFile
from scoring.engine import rank
from scoring.exclusions import STATUS_SENTENCES
from scoring.model import (
    CareSetting,
    CatalogSnapshot,
    PatientCase,
    Preferences,
    PriorOutcome,
    PriorTreatment,
    Weights,
)
from scoring.weights import DEFAULT_RATINGS

PLAIN_WORD = "care"


def names(catalog: CatalogFile) -> list[str]:
    """Therapy and condition names, their short forms and ids, longest first."""
    found: set[str] = set()
    for name in [t.name for t in catalog.therapies] + [c.name for c in catalog.conditions]:
        found.add(name)
        found.update(re.findall(r"\(([^)]+)\)", name))  # IVIG, SCIG, ITP
        found.add(re.sub(r"\s*\(.*?\)", "", name).strip())
        for part in re.split(r"[;,]", re.sub(r".*\(|\)", "", name)):
            if part.strip():
                found.add(part.strip())
    for therapy in catalog.therapies:
        found.add(therapy.id.upper())
        found.add(therapy.id.replace("-", " "))
    for condition in catalog.conditions:
        found.add(condition.id.upper())
    return sorted((n for n in found if len(n) >= 2), key=len, reverse=True)


def plain(text: str, name_list: list[str]) -> str:
    for name in name_list:
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", PLAIN_WORD, text, flags=re.I)
    return text


def grade(text: str, name_list: list[str]) -> float:
    return float(textstat.flesch_kincaid_grade(plain(text, name_list)))


def _cases(snapshot: CatalogSnapshot) -> Iterator[tuple[PatientCase, Preferences]]:
    """Cases that reach every rule, screen, place and template of the engine."""
    therapies = sorted(t.id for t in snapshot.therapies)
    factors = sorted(snapshot.risk_factors)
    histories: list[tuple[PriorTreatment, ...] | None] = [None, ()]
    for outcome in [*PriorOutcome, None]:
        histories.append(tuple(PriorTreatment(t, outcome, True) for t in therapies))
    for condition in sorted(c.id for c in snapshot.conditions):
        for history, factor, (age, egfr, platelets, pregnant) in itertools.product(
            histories,
            [None, *factors],
            [(None, None, None, None), (8, 20, 10, True), (45, 100, 80, False), (70, 45, 25, None)],
        ):
            case = PatientCase(
                condition_id=condition,
                age_years=age,
                egfr=egfr,
                platelet_count=platelets,
                pregnant=pregnant,
                weight_kg=None if age is None else 70,
                igg_trough=None if age is None else 300,
                risk_factors=frozenset({factor} if factor else set()),
                prior_treatments=history,
                phase=None if age is None else "newly_diagnosed",
                antibody_status=None if age is None else "musk",
            )
            yield case, Preferences()
        yield (
            PatientCase(condition_id=condition, prior_supervised_infusions=0),
            Preferences(
                settings=frozenset({CareSetting.HOME}), max_annual_cost=1000.0, urgent=True
            ),
        )


def messages(snapshot: CatalogSnapshot, catalog: CatalogFile) -> dict[str, str]:
    """Every patient-facing text, keyed by itself, with where it came from as the value."""
    found: dict[str, str] = {}
    weights = Weights(dict(DEFAULT_RATINGS))
    for case, preferences in _cases(snapshot):
        result = rank(snapshot, case, preferences, weights)
        for option in result.ranked:
            for caution in option.cautions:
                found.setdefault(caution.message, f"caution {caution.code} ({option.therapy_id})")
            for criterion, score in option.criteria.items():
                found.setdefault(
                    score.explanation, f"explanation {criterion} ({option.therapy_id})"
                )
            for sentence in option.outcomes:
                found.setdefault(sentence, f"outcome ({option.therapy_id})")
        for exclusion in (*result.excluded, *result.later):
            for reason in exclusion.reasons:
                found.setdefault(reason.message, f"reason {reason.code} ({exclusion.therapy_id})")
    for therapy in catalog.therapies:
        for rule in therapy.risk_rules:
            found.setdefault(rule.message, f"rule {rule.id}")
    for indication in catalog.indications:
        if indication.message:
            found.setdefault(indication.message, "indication message")
        if indication.place is not None and indication.place.message:
            found.setdefault(indication.place.message, "place message")
    for sentence in STATUS_SENTENCES.values():
        found.setdefault(sentence, "status sentence")
    return found
