"""Helpers shared by the release tests: what a version recorded, and the curator write they
time and count (one availability status)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import curation
from db.models import Availability, ReleaseEntry


def entries_at(session: Session, version: int) -> dict[tuple[str, str], str | None]:
    """The entries recorded at `version` exactly: entity key -> digest (None: removed)."""
    rows = session.execute(
        select(ReleaseEntry.kind, ReleaseEntry.entity_id, ReleaseEntry.digest).where(
            ReleaseEntry.version == version
        )
    )
    return {(kind, entity_id): digest for kind, entity_id, digest in rows}


def availability_of(session: Session, therapy_id: str, region: str) -> Availability:
    return session.scalars(
        select(Availability).where(
            Availability.therapy_id == therapy_id, Availability.region == region
        )
    ).one()


def set_status(session: Session, therapy_id: str, status: str) -> None:
    """A curator's change to a therapy's US supply status, through the curation service."""
    curation.update(
        session,
        curation.AVAILABILITY,
        actor="test",
        record_id=availability_of(session, therapy_id, "US").id,
        changes={"status": status},
        expected_revision=None,
    )
