"""Per-customer export and erasure, and the check that erasure left nothing behind.

A customer is found by e-mail address, the host site's customer id, or a conversation id;
their data is everything stored about those conversations: the database (every registered
source, plus any table with a ``conversation_id`` column, so a new table cannot be
forgotten), Rasa's tracker store, and the search index (which should never hold customer
text; erasure checks it). Both acts are audited without writing the identifiers into the
audit trail, which must outlive the erasure.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy import JSON, String, Table, Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, SenderType
from core import audit
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import Base, utcnow
from core.errors import DependencyUnavailable, NotFound, PermissionDenied, ValidationFailed
from core.personal_data import CustomerRef, sources
from core.settings import get_settings
from core.tasks import enqueue_after_commit
from privacy import sources as _default_sources  # noqa: F401  - registers messages/tickets
from privacy import tracker
from privacy.schemas import ExportedConversation
from privacy.sources import plain_value
from privacy.tasks import erase_tracker_events

log = logging.getLogger(__name__)

# Tables that hold no customer data by design, or must outlive an erasure (the audit trail).
NOT_SCANNED = frozenset({"audit_log", "alembic_version"})
MIN_TEXT_NEEDLE = 12  # shorter texts ("hi", "thanks") match everywhere and prove nothing
NEEDLE_CHUNK = 40
INDEX_FILE_LIMIT = 200 * 1024 * 1024


@dataclass(frozen=True)
class CustomerQuery:
    email: str | None = None
    external_id: str | None = None
    conversation_id: str | None = None

    def fingerprint(self) -> str:
        """A stable, non-reversible name for the audit trail."""
        raw = f"{(self.email or '').lower()}|{self.external_id or ''}|{self.conversation_id or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def find_customer(session: Session, query: CustomerQuery) -> CustomerRef:
    conditions = []
    if query.email:
        conditions.append(func.lower(Conversation.customer_email) == query.email.strip().lower())
    if query.external_id:
        conditions.append(Conversation.customer_external_id == query.external_id)
    if query.conversation_id:
        if session.get(Conversation, query.conversation_id) is None:
            raise NotFound(f"conversation {query.conversation_id} does not exist",
                           field="conversation_id")
        conditions.append(Conversation.id == query.conversation_id)
    if not conditions:
        raise ValidationFailed("give email, external_id or conversation_id", field="email")
    found = list(session.scalars(select(Conversation).where(or_(*conditions))
                                 .order_by(Conversation.created_at)))
    ids = tuple(c.id for c in found)
    emails = {e.lower() for e in [query.email, *(c.customer_email for c in found)] if e}
    external = {e for e in [query.external_id, *(c.customer_external_id for c in found)] if e}
    texts: tuple[str, ...] = ()
    if ids:
        texts = tuple(session.scalars(select(Message.body).where(
            Message.conversation_id.in_(ids), Message.sender_type == SenderType.CUSTOMER)))
    return CustomerRef(conversation_ids=ids, emails=tuple(sorted(emails)),
                       external_ids=tuple(sorted(external)), texts=texts)


def _claimed_tables() -> set[str]:
    claimed = {"conversations"}
    claimed.update(s.name for s in sources())
    return claimed


def _conversation_tables() -> list[Table]:
    """Every table with a conversation_id column, children before parents."""
    return [t for t in reversed(Base.metadata.sorted_tables)
            if "conversation_id" in t.c and t.name not in NOT_SCANNED]


class ErasureCheck(TypedDict):
    """What verify_erased found (privacy.schemas.ErasureVerification)."""

    remaining: dict[str, int]
    rasa_tracker_events: int | None
    database_text_matches: list[str]
    search_index_matches: list[str]
    clean: bool


class Erasure(TypedDict):
    """What erase_customer did and found (privacy.schemas.ErasureReport)."""

    conversation_ids: list[str]
    erased: dict[str, int]
    tracker_error: str | None
    verification: ErasureCheck
    complete: bool


def export_customer(session: Session, principal: Principal, query: CustomerQuery, *,
                    client_address: str | None = None) -> dict[str, Any]:
    """Everything stored about the customer (unmasked): the export document, JSON-ready, in
    the shape of privacy.schemas.CustomerExport."""
    if not principal.can(Permission.PII_READ):
        raise PermissionDenied("exporting customer data needs the permission 'pii.read'")
    ref = find_customer(session, query)
    ids = ref.conversation_ids
    conversations = [ExportedConversation.of(c).model_dump() for c in session.scalars(
        select(Conversation).where(Conversation.id.in_(ids)).order_by(Conversation.created_at))]
    data: dict[str, Any] = {
        "generated_at": utcnow().isoformat(),
        "identifiers": {"emails": list(ref.emails), "external_ids": list(ref.external_ids),
                        "conversation_ids": list(ids)},
        "conversations": conversations,
    }
    for source in sources():
        data[source.name] = source.export(session, ref) if ids else []
    claimed = _claimed_tables()
    other: dict[str, list[dict[str, Any]]] = {}
    for table in _conversation_tables():
        if table.name in claimed or not ids:
            continue
        rows = session.execute(select(table).where(table.c.conversation_id.in_(ids))).mappings()
        found = [{k: plain_value(v) for k, v in row.items()} for row in rows]
        if found:
            other[table.name] = found
    data["other_records"] = other
    data["rasa_tracker_events"] = tracker.export_events(ids)
    audit.record(session, actor=principal.user_id, action="privacy.exported",
                 target=f"customer:{query.fingerprint()}", client_address=client_address,
                 after={"conversations": len(ids)})
    return data


def erase_customer(session: Session, principal: Principal, query: CustomerQuery, *,
                   client_address: str | None = None) -> Erasure:
    """Erase the customer's data everywhere, then verify; returns the report.

    The database part commits with the caller's transaction. If the tracker store is down
    the report says so (`complete` is false) and the caller may retry: erasure is
    idempotent, and a conversation id already erased from the database is still accepted
    by `erase_tracker_events`, which is queued to finish the job.
    """
    ref = find_customer(session, query)
    ids = ref.conversation_ids
    erased: dict[str, int] = {}
    if ids:
        for source in sources():
            erased[source.name] = source.erase(session, ref)
        claimed = _claimed_tables()
        for table in _conversation_tables():
            if table.name in claimed:
                continue
            result = session.execute(delete(table).where(table.c.conversation_id.in_(ids)))
            erased[table.name] = int(result.rowcount)  # type: ignore[attr-defined]
        result = session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        erased["conversations"] = int(result.rowcount)  # type: ignore[attr-defined]
        session.flush()
    tracker_error: str | None = None
    try:
        erased["rasa_tracker_events"] = tracker.erase_events(ids)
    except DependencyUnavailable as exc:
        tracker_error = exc.message
        enqueue_after_commit(session, erase_tracker_events, list(ids))
    verification = verify_erased(session, ref, tracker_checked=tracker_error is None)
    report: Erasure = {"conversation_ids": list(ids), "erased": erased,
                       "tracker_error": tracker_error, "verification": verification,
                       "complete": tracker_error is None and verification["clean"]}
    audit.record(session, actor=principal.user_id, action="privacy.erased",
                 target=f"customer:{query.fingerprint()}", client_address=client_address,
                 after={"conversations": len(ids), "erased": erased,
                        "complete": report["complete"]})
    return report


def _needles(ref: CustomerRef) -> list[str]:
    texts = [t for t in ref.texts if len(t) >= MIN_TEXT_NEEDLE]
    return sorted({*ref.emails, *ref.external_ids, *ref.conversation_ids, *texts})


def _text_columns(table: Table) -> Iterable[Any]:
    for column in table.c:
        if isinstance(column.type, String | Text):
            yield column
        elif isinstance(column.type, JSON):
            yield cast(column, Text)


def scan_database(session: Session, needles: list[str]) -> list[str]:
    """"table.column" wherever any needle still occurs (substring, any text or JSON column)."""
    hits: list[str] = []
    if not needles:
        return hits
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_SCANNED:
            continue
        for column in _text_columns(table):
            for start in range(0, len(needles), NEEDLE_CHUNK):
                chunk = needles[start:start + NEEDLE_CHUNK]
                condition = or_(*(column.contains(n, autoescape=True) for n in chunk))
                if session.scalar(select(func.count()).select_from(table).where(condition)):
                    hits.append(f"{table.name}.{getattr(column, 'name', None) or column}")
                    break
    return hits


def scan_search_index(needles: list[str], directory: Path | None = None) -> list[str]:
    """Index files that contain any needle. The index is built from articles only, so this
    should always be empty; erasure proves it rather than assuming it."""
    root = directory or get_settings().index_dir
    if not root.exists() or not needles:
        return []
    encoded = [n.encode() for n in needles]
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.stat().st_size > INDEX_FILE_LIMIT:
            log.warning("search index file %s is too large to scan", path)
            hits.append(f"{path.name} (not scanned: too large)")
            continue
        content = path.read_bytes()
        if any(n in content for n in encoded):
            hits.append(path.name)
    return hits


def verify_erased(session: Session, ref: CustomerRef, *,
                  tracker_checked: bool = True) -> ErasureCheck:
    ids = ref.conversation_ids
    remaining: dict[str, int] = {}
    if ids:
        remaining["conversations"] = int(session.scalar(
            select(func.count()).select_from(Conversation).where(
                Conversation.id.in_(ids))) or 0)
        for source in sources():
            remaining[source.name] = source.remaining(session, ref)
        for table in _conversation_tables():
            remaining.setdefault(table.name, int(session.scalar(
                select(func.count()).select_from(table).where(
                    table.c.conversation_id.in_(ids))) or 0))
    tracker_left: int | None = None
    if tracker_checked:
        try:
            tracker_left = tracker.count_events(ids)
        except DependencyUnavailable:
            tracker_left = None
    needles = _needles(ref)
    database_hits = scan_database(session, needles)
    index_hits = scan_search_index(needles)
    clean = (not any(remaining.values()) and tracker_left == 0 and not database_hits
             and not index_hits)
    return {"remaining": remaining, "rasa_tracker_events": tracker_left,
            "database_text_matches": database_hits, "search_index_matches": index_hits,
            "clean": clean}
