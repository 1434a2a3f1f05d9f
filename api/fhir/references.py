"""Resolving FHIR references the way a Bundle links its entries.

A reference inside a Bundle may be relative (`Patient/123`), absolute
(`https://ehr.example.org/fhir/Patient/123`) or a `urn:uuid:` that names another entry's
`fullUrl` (how Synthea and many EHR exports link entries). FHIR R4 "Resolving references in
Bundles": look the reference up among the entries' `fullUrl`s first; otherwise a RESTful
reference is `[base/]Type/id[/_history/v]`. Every reference is reduced to one key, `Type/id`
(or the `fullUrl` of an entry that has no id), so "is this about the patient?" and "which
Medication does this order name?" are a dictionary look-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_RESTFUL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def resource_key(raw: dict[str, Any], full_url: str | None) -> str | None:
    """`Type/id` of a resource, or its `fullUrl` when it has no id."""
    kind, rid = raw.get("resourceType"), raw.get("id")
    if isinstance(kind, str) and isinstance(rid, str) and rid:
        return f"{kind}/{rid}"
    return full_url


class ReferenceIndex:
    """fullUrl -> resource key, built from the entries of every Bundle read for one case."""

    def __init__(self, entries: Iterable[tuple[dict[str, Any], str | None]] = ()) -> None:
        self._by_url: dict[str, str] = {}
        for raw, full_url in entries:
            self.add(raw, full_url)

    def add(self, raw: dict[str, Any], full_url: str | None) -> None:
        key = resource_key(raw, full_url)
        if full_url and key:
            self._by_url.setdefault(full_url, key)

    def resolve(self, reference: Any) -> str | None:
        """The key a reference points to, or None when it cannot be read (contained `#x`,
        a logical identifier-only reference, a urn not in the Bundle)."""
        if not isinstance(reference, str) or not reference or reference.startswith("#"):
            return None
        found = self._by_url.get(reference)
        if found is not None:
            return found
        if reference.startswith("urn:"):
            return None
        match = _RESTFUL.search(reference)
        if match:
            return f"{match.group(1)}/{match.group(2)}"
        return None
