"""API documentation works on a network without internet access: no asset from elsewhere."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_tada(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    urls += re.findall(r"""url:\\s*['"]([^'"]+)['"]""", html.text)
    assert urls
    for url in urls:
        assert not url.startswith(("http:", "https:", "//")), url
    for asset in {u for u in urls if u.startswith("/docs-assets/")}:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 0
