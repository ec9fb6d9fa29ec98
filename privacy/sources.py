"""The personal-data sources this package knows by name: messages, tickets and the records
hanging off tickets.

Conversation rows themselves are handled by the service (erased last, after everything that
points at them). Other domains register their own sources in core.personal_data; tables no
source claims but that carry a ``conversation_id`` are still covered by the service's sweep.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from conversations.models import Message
from conversations.schemas import message_to_dict
from core.personal_data import CustomerRef, PersonalDataSource, register_source
from handoff.models import CsatRating, EmailMessage, Ticket, TicketEvent, TicketNote
from handoff.schemas import TicketOut


def _export_messages(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    return [message_to_dict(m) for m in session.scalars(
        select(Message).where(Message.conversation_id.in_(ref.conversation_ids))
        .order_by(Message.id))]


def _erase_messages(session: Session, ref: CustomerRef) -> int:
    result = session.execute(delete(Message).where(
        Message.conversation_id.in_(ref.conversation_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _count_messages(session: Session, ref: CustomerRef) -> int:
    return int(session.scalar(select(func.count()).select_from(Message).where(
        Message.conversation_id.in_(ref.conversation_ids))) or 0)


def _export_tickets(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    return [TicketOut.of(t).model_dump() for t in session.scalars(
        select(Ticket).where(Ticket.conversation_id.in_(ref.conversation_ids))
        .order_by(Ticket.id))]


def _erase_tickets(session: Session, ref: CustomerRef) -> int:
    # A ticket's subject is the customer's own words: the ticket goes with the conversation.
    result = session.execute(delete(Ticket).where(
        Ticket.conversation_id.in_(ref.conversation_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _count_tickets(session: Session, ref: CustomerRef) -> int:
    return int(session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.conversation_id.in_(ref.conversation_ids))) or 0)


# What hangs off a ticket and can hold the customer's data: agents' notes (they quote
# customers), the history (contact changes), CSAT comments, e-mail headers (addresses).
TICKET_RECORDS: tuple[type[Any], ...] = (TicketNote, TicketEvent, CsatRating, EmailMessage)


def _their_tickets(ref: CustomerRef) -> Any:
    return select(Ticket.id).where(Ticket.conversation_id.in_(ref.conversation_ids))


def _export_ticket_records(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for model in TICKET_RECORDS:
        table = model.__table__
        for row in session.execute(select(table).where(
                table.c.ticket_id.in_(_their_tickets(ref)))).mappings():
            rows.append({"table": table.name, **{k: plain_value(v) for k, v in row.items()}})
    return rows


def plain_value(value: Any) -> Any:
    """A column value as JSON can carry it (exports)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _erase_ticket_records(session: Session, ref: CustomerRef) -> int:
    erased = 0
    for model in TICKET_RECORDS:
        result = session.execute(delete(model).where(
            model.ticket_id.in_(_their_tickets(ref))))
        erased += int(result.rowcount)  # type: ignore[attr-defined]
    return erased


def _count_ticket_records(session: Session, ref: CustomerRef) -> int:
    return sum(int(session.scalar(select(func.count()).select_from(model).where(
        model.ticket_id.in_(_their_tickets(ref)))) or 0) for model in TICKET_RECORDS)


def register_defaults() -> None:
    # Children first: erasure walks the sources in this order.
    register_source(PersonalDataSource("ticket_records", _export_ticket_records,
                                       _erase_ticket_records, _count_ticket_records))
    register_source(PersonalDataSource("tickets", _export_tickets, _erase_tickets,
                                       _count_tickets))
    register_source(PersonalDataSource("messages", _export_messages, _erase_messages,
                                       _count_messages))


register_defaults()
