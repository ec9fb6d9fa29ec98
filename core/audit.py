"""Append-only audit trail, each entry chained to the previous one by SHA-256.

There is deliberately no update or delete function. Editing a stored row breaks the chain,
which `verify_chain` (and `tandem audit verify`) detects.

Concurrent appends: each append reads the latest hash and chains onto it inside the caller's
transaction, so two writers must not interleave. PostgreSQL: a transaction-scoped advisory
lock serialises them. SQLite: every transaction starts with BEGIN IMMEDIATE (core.database),
which takes the database write lock before the read, so the same holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Select

from core.database import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(nullable=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(200))
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    payload = json.dumps(
        {
            "created_at": entry.created_at.isoformat(),
            "actor": entry.actor_user_id,
            "action": entry.action,
            "target": entry.target,
            "client_address": entry.client_address,
            "before": entry.before,
            "after": entry.after,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: int | None,
    action: str,
    target: str,
    client_address: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends so two writers cannot chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
    prev = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        created_at=utcnow().replace(microsecond=0),
        actor_user_id=actor,
        action=action,
        target=target,
        client_address=client_address,
        before=before,
        after=after,
        prev_hash=prev or GENESIS_HASH,
    )
    entry.entry_hash = _digest(entry.prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


def verify_chain(session: Session) -> list[int]:
    """Ids of entries whose hash or link does not match; empty when the chain is intact."""
    broken: list[int] = []
    prev = GENESIS_HASH
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev or _digest(prev, entry) != entry.entry_hash:
            broken.append(entry.id)
        prev = entry.entry_hash
    return broken


@dataclass(frozen=True)
class AuditFilter:
    """What the console's filter form and the export accept; all optional."""

    action: str | None = None  # exact, or a prefix ending in "." ("auth.")
    actor_user_id: int | None = None
    target: str | None = None  # exact ("user:4")
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[tuple[AuditEntry]], filters: AuditFilter) -> Select[tuple[AuditEntry]]:
    if filters.action:
        if filters.action.endswith("."):
            query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(AuditEntry.action == filters.action)
    if filters.actor_user_id is not None:
        query = query.where(AuditEntry.actor_user_id == filters.actor_user_id)
    if filters.target:
        query = query.where(AuditEntry.target == filters.target)
    if filters.since:
        query = query.where(AuditEntry.created_at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.created_at < filters.until)
    return query


def search(session: Session, filters: AuditFilter, *, limit: int = 100,
           before_id: int | None = None) -> list[AuditEntry]:
    """Newest first; page with `before_id` (the smallest id of the previous page)."""
    query = _filtered(select(AuditEntry), filters)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


def export(session: Session, filters: AuditFilter) -> list[AuditEntry]:
    """Every matching entry, oldest first (the chain order)."""
    return list(session.scalars(_filtered(select(AuditEntry), filters).order_by(AuditEntry.id)))

