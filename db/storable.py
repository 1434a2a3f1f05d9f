"""What both databases can store, checked before anything is stored.

SQLite accepts values PostgreSQL refuses, and stores some it should not: `1e999` in a JSON body
parses as infinity and SQLite keeps it (a risk rule "eGFR below Infinity" then excluded IVIG for
every patient with a known eGFR), and a NUL character in text is kept by SQLite but refused by
PostgreSQL. One check, run on every record before it is written, makes both databases refuse
the same values with the same 422.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

# Generous for prose (summaries, messages, notes); anything longer is a mistake or an attack.
MAX_TEXT_CHARS = 20_000
MAX_INT = 2**63 - 1  # a 64-bit integer column


def storable_problems(value: Any, path: str = "") -> Iterator[dict[str, str]]:
    """Yield one `{"path", "message", "type"}` per value no database should store."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            yield _problem(path, "must be a finite number (not infinity or NaN)", "finite_number")
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            yield _problem(path, "is out of range for a stored integer", "int_range")
    elif isinstance(value, str):
        if "\x00" in value:
            yield _problem(path, "must not contain a NUL character", "nul_character")
        if len(value) > MAX_TEXT_CHARS:
            yield _problem(path, f"must be at most {MAX_TEXT_CHARS} characters", "text_length")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from storable_problems(key, f"{path}/{key}" if path else str(key))
            yield from storable_problems(item, f"{path}/{key}" if path else str(key))
    elif isinstance(value, list | tuple | set):
        for index, item in enumerate(value):
            yield from storable_problems(item, f"{path}/{index}" if path else str(index))


def _problem(path: str, message: str, kind: str) -> dict[str, str]:
    return {"path": path, "message": message, "type": kind}
