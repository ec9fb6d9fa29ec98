"""Agent API for tickets: the queue, a ticket with its transcript, notes and history, and
everything an agent does to it. Thin: the handoff modules hold the rules (intake, lifecycle,
merge, notes, fields, watchers; visibility decides who sees what and may do what)."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from agent_console.access import TicketsAssign, TicketsRead, TicketsReply
from agent_console.masking import mask_ticket, mask_ticket_view
from agent_console.schemas import TicketDetail
from conversations import service as conversations
from conversations.models import Message
from conversations.schemas import MessageOut
from core.auth.dependencies import client_address
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import DbSession
from handoff import customers, fields, history, intake, lifecycle, notes, visibility, watchers
from handoff import merge as merging
from handoff import queue as ticket_queue
from handoff.models import CsatRating, Priority, Ticket, TicketStatus
from handoff.schemas import NoteOut, QueueRow, TicketRow, describe_tickets

router = APIRouter(prefix="/api/v1/agent", tags=["agent tickets"])


class ReplyRequest(BaseModel):
    text: str = Field(description="1 to 4000 characters")
    status: TicketStatus | None = Field(default=None,
                                        description="status to set after sending, e.g. pending")


class NoteRequest(BaseModel):
    text: str = Field(description="internal note, 1 to 4000 characters; never sent to the "
                                  "customer")


class TicketUpdate(BaseModel):
    status: TicketStatus | None = None
    priority: Priority | None = None
    category: str | None = Field(default=None, description="empty string clears it")
    tags: list[str] | None = None


class AssignRequest(BaseModel):
    assignee_id: int | None = Field(default=None, description="null puts it back in the queue")
    team_id: int | None = Field(default=None, description="null: no team (visible to all)")


class TransferRequest(BaseModel):
    team_id: int
    note: str = Field(description="what the receiving team needs to know")


class MergeRequest(BaseModel):
    into_ticket_id: int


class NewTicket(BaseModel):
    customer_email: str
    customer_name: str | None = None
    subject: str
    text: str = Field(description="first message to the customer (sent by e-mail)")
    priority: Priority = Priority.NORMAL
    team_id: int | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)


Row = TypeVar("Row", bound=TicketRow)


def shown(principal: Principal, rows: list[Row]) -> list[Row]:
    """Ticket rows as `principal` may see them: the customer's words masked without pii.read."""
    if principal.can(Permission.PII_READ):
        return rows
    return [type(r).model_validate(mask_ticket(r.model_dump())) for r in rows]


def ticket_out(session: DbSession, principal: Principal, ticket: Ticket) -> TicketRow:
    return shown(principal, describe_tickets(session, [ticket], principal))[0]


@router.get("/queue", summary="Tickets, most urgent first: the queue, mine, or all active")
def queue(
    principal: TicketsRead, session: DbSession,
    view: Literal["queue", "mine", "all"] = "all",
    status_filter: Annotated[TicketStatus | None, Query(alias="status")] = None,
    team_id: int | None = None,
    mine: Annotated[bool, Query(description="same as view=mine")] = False,
) -> list[QueueRow]:
    tickets = ticket_queue.list_queue(session, view="mine" if mine else view, status=status_filter,
                                 team_id=team_id, viewer=principal)
    counts = dict(session.execute(
        select(Message.conversation_id, func.count())
        .where(Message.conversation_id.in_([t.conversation_id for t in tickets]))
        .group_by(Message.conversation_id)).tuples().all())
    rows = [QueueRow(**row.model_dump(), message_count=counts.get(row.conversation_id, 0))
            for row in describe_tickets(session, tickets, principal)]
    return shown(principal, rows)


@router.post("/tickets", status_code=status.HTTP_201_CREATED,
             summary="Open a ticket for a customer (answered by e-mail)")
def open_ticket(body: NewTicket, principal: TicketsReply, session: DbSession) -> TicketRow:
    ticket = intake.open_ticket_by_agent(
        session, principal, customer_email=body.customer_email,
        customer_name=body.customer_name, subject=body.subject, text=body.text,
        priority=body.priority, team_id=body.team_id, category=body.category, tags=body.tags)
    return ticket_out(session, principal, ticket)


@router.get("/tickets/{ticket_id}",
            summary="A ticket with the whole transcript (bot part included), notes, history")
def ticket_detail(ticket_id: int, principal: TicketsRead, session: DbSession) -> TicketDetail:
    ticket = visibility.get_visible_ticket(session, ticket_id, principal)
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    rating = session.scalar(select(CsatRating).where(CsatRating.ticket_id == ticket.id))
    view = TicketDetail.model_validate({
        "ticket": describe_tickets(session, [ticket], principal)[0],
        "conversation": conversation,
        "messages": [MessageOut.of(m) for m in conversations.transcript(session, conversation.id)],
        "notes": notes.notes_of(session, ticket.id),
        "history": history.history_of(session, ticket.id),
        "previous_conversations": customers.previous_conversations(session, ticket, principal),
        "csat": rating,
    }, from_attributes=True)
    # Without pii.read the transcript shows e-mails, phones, cards... masked.
    if principal.can(Permission.PII_READ):
        return view
    return TicketDetail.model_validate(mask_ticket_view(view.model_dump()))


@router.post("/tickets/{ticket_id}/claim", summary="Take a waiting ticket (409 if taken)")
def claim(ticket_id: int, principal: TicketsReply, session: DbSession) -> TicketRow:
    return ticket_out(session, principal, lifecycle.claim(session, ticket_id, principal))


@router.post("/tickets/{ticket_id}/messages", status_code=status.HTTP_201_CREATED,
             summary="Public reply to the customer, optionally setting the status")
def reply(ticket_id: int, body: ReplyRequest, principal: TicketsReply,
          session: DbSession) -> MessageOut:
    message = lifecycle.reply(session, ticket_id, principal, body.text,
                              status_after=body.status)
    return MessageOut.of(message)


@router.post("/tickets/{ticket_id}/notes", status_code=status.HTTP_201_CREATED,
             summary="Internal note (agents only; never reaches the customer)")
def add_note(ticket_id: int, body: NoteRequest, principal: TicketsReply,
             session: DbSession) -> NoteOut:
    note = notes.add_note(session, ticket_id, principal, body.text)
    return NoteOut.of(note, principal.display_name)


@router.patch("/tickets/{ticket_id}", summary="Change status, priority, category or tags")
def update_ticket(ticket_id: int, body: TicketUpdate, principal: TicketsReply,
                  session: DbSession) -> TicketRow:
    ticket = fields.update_fields(
        session, ticket_id, principal, priority=body.priority, category=body.category,
        tags=body.tags, clear_category=body.category == "")
    if body.status is not None:
        ticket = lifecycle.set_status(session, ticket_id, principal, body.status)
    return ticket_out(session, principal, ticket)


@router.post("/tickets/{ticket_id}/solve",
             summary="Solve the ticket (the customer is asked for a rating)")
def solve(ticket_id: int, principal: TicketsReply, session: DbSession) -> TicketRow:
    return ticket_out(session, principal, lifecycle.solve(session, ticket_id, principal))


@router.post("/tickets/{ticket_id}/assign",
             summary="Reassign a ticket to an agent and/or team (audited)")
def assign(ticket_id: int, body: AssignRequest, principal: TicketsAssign, request: Request,
           session: DbSession) -> TicketRow:
    ticket = lifecycle.assign(session, ticket_id, principal, assignee_id=body.assignee_id,
                              team_id=body.team_id, client_address=client_address(request))
    return ticket_out(session, principal, ticket)


@router.post("/tickets/{ticket_id}/transfer",
             summary="Transfer to another team with a note (back to that team's queue)")
def transfer(ticket_id: int, body: TransferRequest, principal: TicketsReply,
             session: DbSession) -> TicketRow:
    ticket = lifecycle.transfer(session, ticket_id, principal, team_id=body.team_id,
                                note=body.note)
    return ticket_out(session, principal, ticket)


@router.post("/tickets/{ticket_id}/merge", summary="Merge this duplicate into another ticket")
def merge(ticket_id: int, body: MergeRequest, principal: TicketsReply,
          session: DbSession) -> TicketRow:
    target = merging.merge(session, ticket_id, principal, into_ticket_id=body.into_ticket_id)
    return ticket_out(session, principal, target)


@router.post("/tickets/{ticket_id}/watch", summary="Follow a ticket's changes")
def watch(ticket_id: int, principal: TicketsRead, session: DbSession) -> TicketRow:
    return ticket_out(session, principal, watchers.watch(session, ticket_id, principal, on=True))


@router.delete("/tickets/{ticket_id}/watch", summary="Stop following a ticket")
def unwatch(ticket_id: int, principal: TicketsRead, session: DbSession) -> TicketRow:
    return ticket_out(session, principal, watchers.watch(session, ticket_id, principal, on=False))
