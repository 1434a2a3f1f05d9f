"""FHIR R4 input: score a patient from a Bundle, as JSON or as a FHIR GuidanceResponse."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.deps import ReaderDep, SettingsDep, SnapshotDep
from api.errors import InvalidInput
from api.fhir.codes import FhirCodeLists, get_code_lists
from api.fhir.intake import (
    DerivedCase,
    FhirInputError,
    bundle_entries,
    derive_case,
    parse_resources,
)
from api.fhir.output import guidance_bundle
from api.schemas.score import Coding, Preferences, ScoreRequest, ScoreResponse
from api.scoring_io import (
    case_from_request,
    resolve_condition,
    response_from_result,
    weights_error,
)
from scoring.engine import rank
from scoring.errors import InvalidWeights
from scoring.model import CatalogSnapshot, Method, Result

router = APIRouter(prefix="/v1/fhir", tags=["fhir"])

CodeListsDep = Annotated[FhirCodeLists, Depends(get_code_lists)]
FHIR_JSON = "application/fhir+json"


class FhirScoreRequest(BaseModel):
    """A FHIR R4 Bundle with the patient's record, plus what only the patient can say."""

    model_config = ConfigDict(extra="forbid")

    bundle: dict[str, Any] = Field(description="A FHIR R4 Bundle (any type) about one patient")
    condition: str | Coding | None = Field(
        default=None,
        description="Which condition to score, when the record has several the catalog covers",
    )
    as_of: date | None = Field(default=None, description="Date the age is computed on (today)")
    preferences: Preferences = Preferences()
    weights: dict[str, float] = Field(default_factory=dict)
    method: Method = Method.WEIGHTED_SUM

    @model_validator(mode="before")
    @classmethod
    def _bare_bundle(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            return {"bundle": data}
        return data


class FhirScoreResponse(ScoreResponse):
    derived_case: DerivedCase = Field(description="What TADA read from the FHIR data")


def _fhir_problem(exc: FhirInputError) -> InvalidInput:
    first = exc.problems[0]
    more = len(exc.problems) - 1
    return InvalidInput(
        f"Invalid FHIR in {first.resource} at {first.path}: {first.message}"
        + (f" (and {more} more)" if more > 0 else ""),
        errors=[p.as_error() for p in exc.problems],
    )


def _derive(body: FhirScoreRequest, codes: FhirCodeLists, snapshot: CatalogSnapshot) -> DerivedCase:
    entries, problems = bundle_entries(body.bundle, "bundle")
    if problems:
        raise _fhir_problem(FhirInputError(problems))
    try:
        resources, _ = parse_resources(entries, strict=True, codes=codes)
        condition_id = (
            resolve_condition(snapshot, body.condition).id if body.condition is not None else None
        )
        derived = derive_case(
            resources,
            codes,
            as_of=body.as_of or datetime.now(UTC).date(),
            condition_id=condition_id,
        )
    except FhirInputError as exc:
        raise _fhir_problem(exc) from exc
    if derived.condition_id is None:
        found = sorted({c.condition_id for c in derived.conditions})
        raise InvalidInput(
            (
                "The bundle has several active, confirmed conditions the catalog covers ("
                + ", ".join(found)
                + "); say which one in `condition`."
            )
            if found
            else "The bundle has no active, confirmed Condition whose code the catalog covers; "
            "GET /v1/conditions lists the codes, or give `condition`.",
            errors=[{"path": "body/bundle", "message": "condition not derived", "type": "fhir"}],
            derived_case=derived.model_dump(mode="json"),
        )
    return derived


def _score(
    body: FhirScoreRequest, derived: DerivedCase, snapshot: CatalogSnapshot
) -> tuple[Result, ScoreResponse]:
    """The same gather/compute/shape as /v1/score, from the derived facts."""
    try:
        request = ScoreRequest.model_validate(
            {
                "condition": derived.condition_id,
                "patient": derived.patient_fields(),
                "preferences": body.preferences.model_dump(),
                "weights": body.weights,
                "method": body.method,
            }
        )
    except ValidationError as exc:
        errors = [
            {"path": "/".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise InvalidInput(
            "A value read from the FHIR data or the request is out of range: "
            + "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5]),
            errors=errors,
            derived_case=derived.model_dump(mode="json"),
        ) from exc
    engine_case, preferences, weights = case_from_request(request, snapshot)
    try:
        result = rank(snapshot, engine_case, preferences, weights, method=request.method)
    except InvalidWeights as exc:
        raise weights_error(exc) from exc
    return result, response_from_result(result, snapshot)


@router.post(
    "/score",
    operation_id="fhir_score",
    response_model=FhirScoreResponse,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "JSON, or FHIR with format=fhir"}},
)
def fhir_score(
    body: FhirScoreRequest,
    snapshot: SnapshotDep,
    codes: CodeListsDep,
    settings: SettingsDep,
    _reader: ReaderDep,
    format: Annotated[
        Literal["json", "fhir"],
        Query(description="`fhir` answers with a GuidanceResponse + RequestGroup Bundle"),
    ] = "json",
) -> Any:
    """Order the therapies for the patient in a FHIR R4 Bundle (an aid, not advice)."""
    derived = _derive(body, codes, snapshot)
    result, response = _score(body, derived, snapshot)
    if format == "fhir":
        return _guidance(result, snapshot, derived, settings.public_base_url)
    return FhirScoreResponse(**response.model_dump(), derived_case=derived)


@router.post(
    "/guidance",
    operation_id="fhir_guidance",
    response_class=JSONResponse,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4 collection Bundle"}},
)
def fhir_guidance(
    body: FhirScoreRequest,
    snapshot: SnapshotDep,
    codes: CodeListsDep,
    settings: SettingsDep,
    _reader: ReaderDep,
) -> JSONResponse:
    """The same ordering as a FHIR R4 GuidanceResponse with a RequestGroup of the options."""
    derived = _derive(body, codes, snapshot)
    result, _ = _score(body, derived, snapshot)
    return _guidance(result, snapshot, derived, settings.public_base_url)


def _guidance(
    result: Result, snapshot: CatalogSnapshot, derived: DerivedCase, base_url: str
) -> JSONResponse:
    bundle = guidance_bundle(
        result,
        snapshot,
        derived,
        module_uri=f"{base_url.rstrip('/')}/v1/fhir/guidance",
        request_id=str(uuid.uuid4()),
    )
    return JSONResponse(bundle, media_type=FHIR_JSON)
