"""The catalog check (`tada catalog check`): no option is ranked on missing data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.cli import main
from db.catalog_check import catalog_gaps
from db.catalog_file import SEED_CATALOG, load_catalog_file, parse_catalog


def test_the_seed_catalog_has_no_gaps() -> None:
    """Every ranked option has cost, burden, supply and side-effect data for the regions the
    catalog serves, or a cited absence."""
    catalog = load_catalog_file(SEED_CATALOG)
    assert catalog.scales.regions_served == ["US"]
    assert [str(gap) for gap in catalog_gaps(catalog)] == []


def test_every_cited_absence_cites_the_search() -> None:
    catalog = load_catalog_file(SEED_CATALOG)
    absences = [a for t in catalog.therapies for a in t.absences]
    assert len(absences) >= 20
    assert {a.source for a in absences} == {"catalog-absence-search"}


def _without(therapy_id: str, field: str) -> str:
    data = yaml.safe_load(SEED_CATALOG.read_text(encoding="utf-8"))
    for therapy in data["therapies"]:
        if therapy["id"] == therapy_id:
            therapy[field] = []
            therapy["absences"] = []
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("therapy", "field", "gap"),
    [
        ("romiplostim", "costs", "romiplostim for itp in US: no cost"),
        ("natalizumab", "availability", "natalizumab for ms in US: no availability"),
        ("fostamatinib", "adverse_effects", "fostamatinib for itp: no adverse effect"),
    ],
)
def test_a_missing_fact_is_a_gap(therapy: str, field: str, gap: str) -> None:
    gaps = [str(g) for g in catalog_gaps(parse_catalog(_without(therapy, field)))]
    assert any(g.startswith(gap) for g in gaps), gaps


def test_a_per_gram_price_without_a_dose_is_a_gap() -> None:
    data = yaml.safe_load(SEED_CATALOG.read_text(encoding="utf-8"))
    for indication in data["indications"]:
        if (indication["therapy"], indication["condition"]) == ("ivig", "pi"):
            del indication["dose_per_kg"]
    for therapy in data["therapies"]:
        if therapy["id"] == "ivig":
            therapy["costs"] = [c for c in therapy["costs"] if c["basis"] == "per_gram"]
    gaps = [str(g) for g in catalog_gaps(parse_catalog(yaml.safe_dump(data, sort_keys=False)))]
    assert "ivig for pi in US: no cost and no cited absence" in gaps


def test_cli_check_reports_gaps_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "check"]) == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(_without("romiplostim", "costs"), encoding="utf-8")
    assert main(["catalog", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "romiplostim for itp in US: no cost and no cited absence" in out


def test_a_missing_course_is_a_gap_unless_an_absence_names_its_condition() -> None:
    """How long a treatment lasts is required like any burden fact; an absence limited to one
    condition covers that condition only."""
    data = yaml.safe_load(SEED_CATALOG.read_text(encoding="utf-8"))
    for indication in data["indications"]:
        if (indication["therapy"], indication["condition"]) == ("ivig", "cidp"):
            del indication["course"]
    gaps = [str(g) for g in catalog_gaps(parse_catalog(yaml.safe_dump(data, sort_keys=False)))]
    assert gaps == ["ivig for cidp: no course (how long it lasts) and no cited absence"]
    ivig = next(t for t in data["therapies"] if t["id"] == "ivig")
    mg_only = [a for a in ivig["absences"] if a["what"] == "course"]
    assert [a["condition"] for a in mg_only] == ["mg", "scid"]  # they do not cover cidp
    ivig["absences"].append({**mg_only[0], "condition": "cidp"})
    assert catalog_gaps(parse_catalog(yaml.safe_dump(data, sort_keys=False))) == []
