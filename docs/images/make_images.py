"""Renders the README's pictures: an option grid (summary page in a browser), an icon array
and the first page of a PDF summary.

    python docs/images/make_images.py     # needs chromium on PATH; PyMuPDF for the PDF page

Runs the app in process on a fresh SQLite database seeded with the seed catalog.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from db.catalog_file import SEED_CATALOG, load_catalog_file  # noqa: E402
from db.catalog_io import replace_catalog  # noqa: E402
from db.migrations import upgrade  # noqa: E402
from db.session import make_engine, make_session_factory  # noqa: E402
from db.versioning import begin_write  # noqa: E402

HERE = Path(__file__).resolve().parent
REQUEST = {
    "condition": "cidp",
    "patient": {"age_years": 52, "weight_kg": 80, "prior_treatments": []},
    "preferences": {"region": "US", "settings": ["home"]},
    "weights": {"efficacy": 9, "convenience": 7, "safety": 6},
    "chosen_therapy_id": None,
}


def screenshot(source: Path, target: Path, size: str) -> None:
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={target}",
            f"--window-size={size}",
            source.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="tada-images-"))
    url = f"sqlite:///{work / 'tada.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        begin_write(session)
        replace_catalog(session, load_catalog_file(SEED_CATALOG), actor="docs", summary="seed")
        session.commit()
    engine.dispose()
    app = create_app(Settings(_env_file=None, database_url=url, warm_up=False))
    with TestClient(app) as client:
        svg = client.get("/v1/outcome-figures/ivig-cidp-1/icon-array.svg").text
        html = client.post("/v1/summary", json=REQUEST).text
        pdf = client.post("/v1/summary", json=REQUEST, headers={"accept": "application/pdf"})
    (work / "icon-array.svg").write_text(svg, encoding="utf-8")
    (work / "summary.html").write_text(html, encoding="utf-8")
    screenshot(work / "icon-array.svg", HERE / "icon-array.png", "420,330")
    screenshot(work / "summary.html", HERE / "option-grid.png", "1200,1000")
    import pymupdf

    document = pymupdf.open(stream=pdf.content, filetype="pdf")
    document[0].get_pixmap(dpi=80).save(HERE / "summary-pdf-page1.png")


if __name__ == "__main__":
    main()
