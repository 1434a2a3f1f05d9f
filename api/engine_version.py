"""The engine's version: the package version plus a digest of the `scoring/` sources.

Decision records name the engine that scored them, so a replay can say honestly when the code,
not the catalog, is what differs. A digest of the source needs no one to remember to bump a
number: any change to the engine's code changes it.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import scoring


@cache
def engine_version() -> str:
    digest = hashlib.sha256()
    root = Path(scoring.__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    try:
        package = version("tada")
    except PackageNotFoundError:  # running from a source tree that was never installed
        package = "0"
    return f"{package}+{digest.hexdigest()[:12]}"
