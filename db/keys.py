"""API keys: made by `tada keys create`, stored only as a hash, looked up by a short prefix.

Keys are 256-bit random tokens, so a plain SHA-256 is enough (a slow password hash protects
low-entropy secrets; these are not). The prefix lets us find the row without scanning hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ApiKey

# Roles are named permission sets. A clinician records decisions but cannot edit the catalog;
# a curator edits the catalog but cannot read decision records (they hold patient choices).
READ = "read"
CATALOG_WRITE = "catalog:write"
DECISIONS = "decisions"
PERMISSIONS: dict[str, frozenset[str]] = {
    "reader": frozenset({READ}),
    "curator": frozenset({READ, CATALOG_WRITE}),
    "clinician": frozenset({READ, DECISIONS}),
    "admin": frozenset({READ, CATALOG_WRITE, DECISIONS}),
}
ROLES = tuple(PERMISSIONS)


@dataclass(frozen=True)
class IssuedKey:
    id: int
    name: str
    role: str
    key: str


def roles_with(permission: str) -> list[str]:
    return [role for role, granted in PERMISSIONS.items() if permission in granted]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, name: str, role: str) -> IssuedKey:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"tada_{prefix}_{secret}"
    row = ApiKey(
        name=name, role=role, prefix=prefix, key_hash=_hash(key), created_at=datetime.now(UTC)
    )
    session.add(row)
    session.flush()
    return IssuedKey(id=row.id, name=name, role=role, key=key)


def find_key(session: Session, presented: str) -> ApiKey | None:
    """The active key matching `presented`, or None; constant-time comparison of hashes."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "tada":
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(presented)):
        return None
    return row


def revoke_key(session: Session, key_id: int) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def active_key_ids(session: Session, ids: set[int]) -> set[int]:
    """Which of `ids` are still active (not revoked): the key cache's periodic re-check."""
    query = select(ApiKey.id).where(ApiKey.id.in_(ids), ApiKey.revoked_at.is_(None))
    return set(session.scalars(query))
