"""A small FHIR R4 server on 127.0.0.1 for CDS Hooks tests: search with paging.

It serves one patient's resources (a single-patient store, so `patient=` is accepted and not
filtered on) with the search parameters TADA's prefetch templates use: `code` (system|code,
comma-OR), `clinical-status`, `status`, `_sort=-date` and `_count`, which here is the page size.
Pages link to each other with `next` (`_offset`), as a real server paginates; `next_base` makes
those links point at another server, to test that the bearer token never leaves `fhirServer`.
Every request is recorded with its `Authorization` header.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


def _date(resource: dict[str, Any]) -> str:
    for key in ("effectiveDateTime", "onsetDateTime", "authoredOn", "recordedDate"):
        if isinstance(resource.get(key), str):
            return str(resource[key])
    return ""


def _codes(resource: dict[str, Any]) -> set[str]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return {f"{c.get('system')}|{c.get('code')}" for c in concept.get("coding", [])}


def search(
    store: Sequence[dict[str, Any]], kind: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    found = [r for r in store if r.get("resourceType") == kind]
    if "code" in params:
        wanted = set(params["code"].split(","))
        found = [r for r in found if _codes(r) & wanted]
    if "clinical-status" in params:
        states = set(params["clinical-status"].split(","))
        found = [
            r
            for r in found
            if any(c.get("code") in states for c in r.get("clinicalStatus", {}).get("coding", []))
        ]
    if "status" in params:
        found = [r for r in found if r.get("status") in set(params["status"].split(","))]
    if params.get("_sort") == "-date":
        found = sorted(found, key=_date, reverse=True)
    return found


def searchset(
    page: list[dict[str, Any]],
    *,
    full_urls: dict[int, str],
    total: int,
    next_url: str | None = None,
) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "entry": [
            {"fullUrl": full_urls.get(id(r), f"urn:uuid:{r.get('id')}"), "resource": r}
            for r in page
        ],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


class PagingFhirServer:
    """Serves `store`; `full_urls` keeps each resource's Bundle fullUrl (by object id)."""

    def __init__(
        self,
        store: Sequence[dict[str, Any]],
        *,
        page_size: int = 5,
        full_urls: dict[int, str] | None = None,
    ) -> None:
        self.store = list(store)
        self.page_size = page_size
        self.full_urls = full_urls or {}
        self.next_base: str | None = None
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Authorization")))
                status, body = server.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, raw_path: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        path = parts.path.removeprefix("/fhir/")
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if "/" in path:
            kind, rid = path.split("/", 1)
            for resource in self.store:
                if resource.get("resourceType") == kind and resource.get("id") == rid:
                    return 200, resource
            return 404, {"resourceType": "OperationOutcome", "issue": []}
        return 200, self.page(path, params)

    def page(self, kind: str, params: dict[str, str]) -> dict[str, Any]:
        found = search(self.store, kind, params)
        size = min(int(params.get("_count", self.page_size)), self.page_size)
        offset = int(params.get("_offset", 0))
        page = found[offset : offset + size]
        next_url = None
        if offset + size < len(found):
            query = {**params, "_offset": str(offset + size)}
            next_url = f"{self.next_base or self.url}/{kind}?{urlencode(query)}"
        return searchset(page, full_urls=self.full_urls, total=len(found), next_url=next_url)

    def first_page(self, template: str, patient_id: str) -> Any:
        """What an EHR that paginates its prefetch sends for a template: page 1 only."""
        path = template.replace("{{context.patientId}}", patient_id)
        if "?" not in path:
            return self.answer("/fhir/" + path)[1]
        kind, _, query = path.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        return self.page(kind, params)

    def __enter__(self) -> PagingFhirServer:
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
