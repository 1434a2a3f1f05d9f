"""The README's operating section lists every setting, and its curl example sets its key."""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"TADA_{name.upper()}"
        for name in Settings.model_fields
        if f"`TADA_{name.upper()}`" not in README
    ]
    assert missing == []


def test_the_curl_example_sets_the_key_it_uses() -> None:
    assert "KEY=$(tada keys create" in README
