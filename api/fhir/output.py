"""A ranking as FHIR R4 resources an EHR can store: a GuidanceResponse whose result is a
RequestGroup with one action per option (the "CDS on FHIR" mapping in ehr-reference §3.6).

The RequestGroup is `intent: option` (options, not orders) and carries no priority: ranks are
an ordering by the stated priorities, not a recommendation. Excluded therapies appear as
actions too, with their reasons, so the stored record shows what was ruled out and why.
Both resources are validated with `fhir.resources.R4B` before they leave.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from api.fhir.intake import DerivedCase
from scoring.model import CatalogSnapshot, Result


def _artifact(snapshot: CatalogSnapshot, source_id: str | None) -> dict[str, Any] | None:
    source = snapshot.sources.get(source_id) if source_id else None
    if source is None:
        return None
    artifact: dict[str, Any] = {"type": "documentation", "display": source.citation}
    if source.url:
        artifact["url"] = source.url
    return artifact


def guidance_bundle(
    result: Result,
    snapshot: CatalogSnapshot,
    case: DerivedCase,
    *,
    module_uri: str,
    request_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A `collection` Bundle holding the GuidanceResponse and its RequestGroup, as JSON."""
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    guidance_url, options_url = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    condition = next((c for c in snapshot.conditions if c.id == result.condition_id), None)
    subject = {"reference": case.patient} if case.patient else None
    actions: list[dict[str, Any]] = []
    for option in result.ranked:
        artifacts = [
            a for a in (_artifact(snapshot, e.source_id) for e in option.evidence) if a is not None
        ]
        lines = [f"Rank {option.rank}, score {option.score:.3f}."]
        lines += [f"Caution: {c.message}" for c in option.cautions]
        lines += list(option.outcomes)
        action: dict[str, Any] = {
            "id": option.therapy_id,
            "title": option.name,
            "description": " ".join(lines),
            "code": [{"coding": [{"system": f"{module_uri}/therapy", "code": option.therapy_id}]}],
        }
        if artifacts:
            action["documentation"] = artifacts
        actions.append(action)
    for prefix, title, exclusion in [
        *(("later", "For a later decision point", e) for e in result.later),
        *(("excluded", "Not suitable", e) for e in result.excluded),
    ]:
        artifacts = [
            a for a in (_artifact(snapshot, r.source) for r in exclusion.reasons) if a is not None
        ]
        excluded: dict[str, Any] = {
            "id": f"{prefix}-{exclusion.therapy_id}",
            "title": f"{title}: {exclusion.name}",
            "description": " ".join(r.message for r in exclusion.reasons) or "Excluded.",
            "code": [
                {"coding": [{"system": f"{module_uri}/therapy", "code": exclusion.therapy_id}]}
            ],
        }
        if artifacts:
            excluded["documentation"] = artifacts
        actions.append(excluded)

    request_group: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "id": "options",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{request_id}"}],
        "instantiatesUri": [module_uri],
        "status": "active",
        "intent": "option",
        "authoredOn": when,
        "note": [
            {
                "text": "An ordering of the options by the stated priorities; not a "
                f"recommendation. Catalog version {result.catalog_version}, method "
                f"{result.method.value}."
            }
        ],
    }
    if actions:
        request_group["action"] = [
            {"title": "Options", "selectionBehavior": "at-most-one", "action": actions}
        ]
    guidance: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": "guidance",
        "requestIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{request_id}"},
        "moduleUri": module_uri,
        "status": "success" if result.ranked else "data-required",
        "occurrenceDateTime": when,
        "result": {"reference": options_url},
    }
    if condition is not None:
        coded = [{"system": s, "code": c} for s, c in condition.codes[:5]]
        guidance["reasonCode"] = [
            {"coding": coded, "text": condition.name} if coded else {"text": condition.name}
        ]
    if subject is not None:
        guidance["subject"] = subject
        request_group["subject"] = subject
    unknown = list(result.unknown) or [u for u in case.unknown if u != "condition"]
    if unknown:
        guidance["note"] = [{"text": "Not known (not guessed): " + ", ".join(unknown)}]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": when,
        "entry": [
            {"fullUrl": guidance_url, "resource": guidance},
            {"fullUrl": options_url, "resource": request_group},
        ],
    }
    Bundle.model_validate(bundle)  # validates both resources as R4(B)
    return bundle
