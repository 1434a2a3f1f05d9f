"""The R4B validation verdict cache: keyed by the exact JSON, never by id; errors name the
resource and path of each request, not of the request that filled the cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from api.fhir import intake
from api.fhir.intake import FhirInputError, RawEntry, parse_resources


@pytest.fixture
def cache() -> Iterator[intake.VerdictCache]:
    saved = intake.VERDICTS
    intake.VERDICTS = intake.VerdictCache(100)
    yield intake.VERDICTS
    intake.VERDICTS = saved


def observation(value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "33914-3"}]},
        "valueQuantity": {"value": value, "unit": "mL/min"},
    }


def test_identical_json_is_validated_once(
    cache: intake.VerdictCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    model = get_fhir_model_class("Observation")
    real = model.model_validate

    def counting(raw: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(raw)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(model, "model_validate", counting)
    for _ in range(3):
        parse_resources([RawEntry("a", observation(42))], strict=True)
    assert len(calls) == 1
    parse_resources([RawEntry("a", observation(43))], strict=True)  # one byte differs
    assert len(calls) == 2


def test_a_cached_error_names_the_resource_where_it_is_now(cache: intake.VerdictCache) -> None:
    with pytest.raises(FhirInputError) as first:
        parse_resources([RawEntry("bundle.entry[3].resource", observation("lots"))], strict=True)
    with pytest.raises(FhirInputError) as second:
        parse_resources([RawEntry("bundle.entry[7].resource", observation("lots"))], strict=True)
    assert "entry[3]" in first.value.problems[0].resource
    assert "entry[7]" in second.value.problems[0].resource
    assert second.value.problems[0].path == "Observation.valueQuantity.value"


def test_the_cache_is_bounded_and_can_be_off(cache: intake.VerdictCache) -> None:
    cache.size = 2
    for value in range(5):
        parse_resources([RawEntry("a", observation(value))], strict=True)
    assert len(cache) == 2
    intake.set_verdict_cache_size(0)
    parse_resources([RawEntry("a", observation(9))], strict=True)
    assert len(cache) == 0


def test_json_orjson_cannot_encode_is_validated_uncached(cache: intake.VerdictCache) -> None:
    parsed, skipped = parse_resources([RawEntry("a", observation(10**40))], strict=False)
    assert len(cache) == 0
    assert len(parsed) + len(skipped) == 1
