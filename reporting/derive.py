"""The metric definitions as code: one conversation's raw history in, its facts out.

This is the single definition of every figure (docs/metrics.md explains each one). The
roll-up tables (reporting.facts) store exactly what these functions return, and the reports
add those rows up; tests compare the stored rows with a fresh derivation of the same data.

Three grains:

- the conversation (volume): its channel, creation time, messages, current team/agent;
- the bot episode: a stretch in which the bot is in charge, from the first customer message
  (of the conversation, or after a ticket was resolved for good) to the next hand-off or the
  last message. Exactly one outcome each: contained, handed_off or no_reply;
- the ticket stint: a stretch in which one team holds a ticket, from the hand-off, a
  transfer into the team or a reopen, to the solve, a transfer out, a close or now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from conversations.models import SenderType
from handoff import business_hours
from handoff.models import BusinessCalendar, TicketStatus
from nlu.pii import mask_text

PREVIEW_CHARS = 200  # of the first customer message, in lists and exports
BUCKET_SECONDS = 900  # 15 minutes: every time zone's offset is a multiple of it
# Hand-offs that never passed through the bot: the conversation starts with a ticket.
NOT_FROM_BOT = frozenset({"email", "agent_opened"})
SOLVED_STATES = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
REOPENED_STATES = frozenset({TicketStatus.OPEN, TicketStatus.NEW})

CONTAINED, HANDED_OFF, NO_REPLY, NO_EPISODE = "contained", "handed_off", "no_reply", "none"
OUTCOMES = (CONTAINED, HANDED_OFF, NO_REPLY)

CalendarOf = Callable[[int | None], BusinessCalendar | None]


def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp()) // BUCKET_SECONDS


def bucket_start(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET_SECONDS, UTC)


@dataclass
class EpisodeFacts:
    seq: int
    started_at: datetime
    outcome: str
    reason: str | None  # the hand-off reason, when handed off
    intent: str | None
    bot_turns: int = 0
    answer_turns: int = 0
    clarify_turns: int = 0
    ticket_id: int | None = None


@dataclass
class StintFacts:
    ticket_id: int
    seq: int
    team_id: int | None
    start_at: datetime
    start_kind: str  # handoff | transfer | reopen
    end_at: datetime | None = None
    end_kind: str | None = None  # solved | transferred | closed | merged; None = still held
    agent_id: int | None = None
    priority: str | None = None
    intent: str | None = None
    replies: int = 0
    agent_replies: int = 0
    first_response_at: datetime | None = None
    first_response_s: float | None = None
    first_response_bs: float | None = None
    next_response_n: int = 0
    next_response_s: float = 0.0
    next_response_bs: float = 0.0
    resolved: bool = False
    resolution_s: float | None = None
    resolution_bs: float | None = None
    handle_s: float | None = None
    handle_bs: float | None = None
    sla_measured: bool = False
    sla_breached: bool = False
    reopened: bool = False
    fcr: bool = False
    final_solve: bool = False
    csat_score: int | None = None
    # Working state, not stored.
    assigned_since: datetime | None = field(default=None, repr=False)


@dataclass
class ConversationFacts:
    conversation_id: str
    created_at: datetime
    created_bucket: int
    channel: str
    team_id: int | None
    agent_id: int | None
    intent: str | None
    priority: str | None
    ticket_status: str | None
    outcome: str
    messages: int
    customer_messages: int
    bot_messages: int
    agent_messages: int
    first_customer_message_id: int | None
    # Its first PREVIEW_CHARS, masked once here so lists and exports for readers without
    # pii.read need no masking per row.
    first_message_masked: str | None
    # The bot's figures per conversation, so the bot report adds up one row per conversation.
    episodes_n: int
    contained_n: int
    handed_off_n: int
    no_reply_n: int
    clarified_n: int
    kb_helpful: int
    kb_not_helpful: int
    gaps: int
    episodes: list[EpisodeFacts]
    stints: list[StintFacts]


# What the derivation reads of each raw row. ORM objects fit, and so do the plain rows
# reporting.facts loads in bulk (much faster than building ORM objects).


class Conversation(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class Message(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def sender_type(self) -> str: ...
    @property
    def sender_user_id(self) -> int | None: ...
    @property
    def meta(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


class Ticket(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def detected_intent(self) -> str | None: ...
    @property
    def team_id(self) -> int | None: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def merged_into_id(self) -> int | None: ...
    @property
    def sla_policy_id(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def solved_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


class TicketEvent(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def before(self) -> Any: ...
    @property
    def after(self) -> Any: ...
    @property
    def created_at(self) -> datetime: ...


class CsatRating(Protocol):
    @property
    def score(self) -> int: ...


@dataclass
class History:
    """Everything about one conversation that the facts are derived from."""

    conversation: Conversation
    messages: Sequence[Message]  # by id
    tickets: Sequence[Ticket]  # by id
    events: dict[int, list[TicketEvent]]  # ticket id -> events by id
    ratings: dict[int, CsatRating]  # ticket id -> rating
    kb_ratings: list[bool] = field(default_factory=list)  # helpful? per KB answer rating
    gaps: int = 0  # knowledge gaps logged in the conversation
    first_customer_text: str | None = None  # the first customer message's body


# --- helpers ------------------------------------------------------------------------------


def _kind(message: Message) -> str | None:
    """A bot turn's decision: answer, clarify or handoff (see bot/actions/respond.py)."""
    meta = message.meta or {}
    value = meta.get("kind") or meta.get("decision")
    return str(value) if value else None


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _business_seconds(calendar: BusinessCalendar | None, start: datetime,
                      end: datetime) -> float:
    return business_hours.business_minutes_between(calendar, start, end) * 60


def _resolved_for_good(ticket: Ticket, events: list[TicketEvent]) -> datetime | None:
    """When the ticket last went to solved/closed with no reopen after; None while active."""
    ended: datetime | None = None
    for event in events:
        if event.action == "status" and event.after in SOLVED_STATES:
            ended = ended or event.created_at
        elif event.action == "status" and event.before in SOLVED_STATES:
            ended = None
        elif event.action == "merged":
            ended = ended or event.created_at
    if ended is None and ticket.status in SOLVED_STATES:
        ended = ticket.solved_at or ticket.closed_at or ticket.updated_at
    return ended


# --- bot episodes ------------------------------------------------------------------------


def derive_episodes(history: History) -> list[EpisodeFacts]:
    """Walk the transcript; the bot is in charge outside every ticket's human period
    (from its creation to its resolution for good)."""
    periods = []
    for ticket in history.tickets:
        periods.append((ticket.created_at,
                        _resolved_for_good(ticket, history.events.get(ticket.id, [])), ticket))
    periods.sort(key=lambda p: (p[0], p[2].id))
    episodes: list[EpisodeFacts] = []
    current: EpisodeFacts | None = None
    next_period = 0

    def close_with(ticket: Ticket) -> None:
        nonlocal current
        if current is not None:
            if ticket.reason in NOT_FROM_BOT and current.bot_turns == 0:
                episodes.pop()  # the customer wrote in, but a person answers such channels
            else:
                current.outcome, current.reason = HANDED_OFF, ticket.reason
                current.ticket_id = ticket.id
                current.intent = current.intent or ticket.detected_intent
        current = None

    in_human_until: datetime | None = None
    human = False
    for message in history.messages:
        at = message.created_at
        # Tickets created before this message take over the conversation.
        while next_period < len(periods) and periods[next_period][0] <= at:
            _, end, ticket = periods[next_period]
            close_with(ticket)
            human, in_human_until = True, end
            next_period += 1
        if human and in_human_until is not None and at > in_human_until:
            human = False
        if human:
            continue
        sender = message.sender_type
        if sender == SenderType.CUSTOMER and current is None:
            current = EpisodeFacts(seq=len(episodes) + 1, started_at=at, outcome=NO_REPLY,
                                   reason=None, intent=None)
            episodes.append(current)
        elif current is None:
            continue
        if sender == SenderType.BOT:
            kind = _kind(message)
            current.bot_turns += 1
            current.answer_turns += kind == "answer"
            current.clarify_turns += kind == "clarify"
            if current.outcome == NO_REPLY:
                current.outcome = CONTAINED
            intent = (message.meta or {}).get("intent")
            if current.intent is None and intent:
                current.intent = str(intent)
        elif sender == SenderType.AGENT:
            # A person answered with no ticket in between: not contained, whoever closed it.
            current.outcome, current.reason = HANDED_OFF, "agent_joined"
    # A hand-off after the last message (bot unavailable notices come first, then the ticket).
    while next_period < len(periods):
        close_with(periods[next_period][2])
        next_period += 1
    return episodes


# --- ticket stints -----------------------------------------------------------------------


def derive_stints(history: History, calendar_of: CalendarOf) -> list[StintFacts]:
    stints: list[StintFacts] = []
    agent_messages = [m for m in history.messages if m.sender_type == SenderType.AGENT]
    for ticket in history.tickets:
        if ticket.merged_into_id is not None:
            continue  # a duplicate: its work is counted on the ticket it went into
        stints.extend(_ticket_stints(ticket, history, agent_messages, calendar_of))
    return stints


def _ticket_stints(ticket: Ticket, history: History, agent_messages: list[Message],
                   calendar_of: CalendarOf) -> list[StintFacts]:
    events = history.events.get(ticket.id, [])
    stints: list[StintFacts] = []
    assignee: int | None = None
    assigned_since: datetime | None = None

    def open_stint(at: datetime, kind: str, team_id: int | None) -> StintFacts:
        stint = StintFacts(ticket_id=ticket.id, seq=len(stints) + 1, team_id=team_id,
                           start_at=at, start_kind=kind)
        stint.assigned_since = at if assignee is not None else None
        stints.append(stint)
        return stint

    current: StintFacts | None = open_stint(ticket.created_at, "handoff", None)
    for event in events:
        before = event.before if isinstance(event.before, dict) else {}
        after = event.after if isinstance(event.after, dict) else {}
        at = event.created_at
        if event.action == "created":
            if current is not None and current.seq == 1:
                current.team_id = after.get("team_id")
        elif event.action in ("transfer", "assignment") and before.get("team_id") != after.get(
                "team_id"):
            if current is not None:
                current.team_id = before.get("team_id")
                current.agent_id = before.get("assignee_id")
                current.end_at, current.end_kind = at, "transferred"
            assignee, assigned_since = after.get("assignee_id"), None
            if assignee is not None:
                assigned_since = at
            current = open_stint(at, "transfer", after.get("team_id"))
            continue
        if event.action in ("assignee", "assignment") and "assignee_id" in after:
            assignee = after.get("assignee_id")
            assigned_since = at if assignee is not None else None
            if current is not None and assignee is not None and current.assigned_since is None:
                current.assigned_since = at
        elif event.action == "status":
            if event.after == TicketStatus.SOLVED and current is not None:
                current.end_at, current.end_kind, current.resolved = at, "solved", True
                current.agent_id = assignee
                current = None
            elif event.after == TicketStatus.CLOSED and current is not None:
                current.end_at, current.end_kind = at, "closed"
                current.agent_id = assignee
                current = None
            elif event.before in SOLVED_STATES and event.after in REOPENED_STATES:
                if stints and stints[-1].resolved:
                    stints[-1].reopened = True
                current = open_stint(at, "reopen", stints[-1].team_id if stints else None)
            if event.after == TicketStatus.NEW:
                assignee, assigned_since = None, None
        elif event.action == "merged" and current is not None:
            current.end_at, current.end_kind = at, "merged"
            current = None
        elif event.action == "sla" and after.get("sla_state") == "breached":
            target = current or (stints[-1] if stints else None)
            if target is not None:
                target.sla_breached = True
        if event.action in ("assignee", "assignment") and current is not None:
            current.assigned_since = current.assigned_since or assigned_since
    # The ticket row is the truth about where it is now.
    last = stints[-1]
    last.team_id = ticket.team_id
    if last.end_at is None or last.agent_id is None:
        last.agent_id = ticket.assignee_id if ticket.assignee_id is not None else last.agent_id
    for stint in stints:
        _measure(stint, ticket, history, agent_messages, calendar_of(stint.team_id))
    _credit_csat(stints, history.ratings.get(ticket.id))
    return stints


def _measure(stint: StintFacts, ticket: Ticket, history: History,
             agent_messages: list[Message], calendar: BusinessCalendar | None) -> None:
    start, end = stint.start_at, stint.end_at
    inside = [m for m in agent_messages
              if m.created_at >= start and (end is None or m.created_at <= end)
              and (m.meta or {}).get("ticket_id", ticket.id) == ticket.id]
    stint.priority = ticket.priority
    stint.intent = ticket.detected_intent
    stint.sla_measured = ticket.sla_policy_id is not None or stint.sla_breached
    if stint.agent_id is None and inside:
        stint.agent_id = inside[-1].sender_user_id
    stint.replies = len(inside)
    stint.agent_replies = sum(1 for m in inside if m.sender_user_id == stint.agent_id)
    if inside:
        first = inside[0].created_at
        stint.first_response_at = first
        stint.first_response_s = _seconds(start, first)
        stint.first_response_bs = _business_seconds(calendar, start, first)
        # Next response: from a customer message written after an agent reply (the first
        # of several in a row) to the next agent reply.
        waiting_since: datetime | None = None
        reply_ids = {m.id for m in inside}
        for message in history.messages:
            at = message.created_at
            if at <= first or (end is not None and at > end):
                continue
            if message.sender_type == SenderType.CUSTOMER and waiting_since is None:
                waiting_since = at
            elif message.id in reply_ids and waiting_since is not None:
                stint.next_response_n += 1
                stint.next_response_s += _seconds(waiting_since, at)
                stint.next_response_bs += _business_seconds(calendar, waiting_since, at)
                waiting_since = None
    if stint.resolved and end is not None:
        stint.resolution_s = _seconds(start, end)
        stint.resolution_bs = _business_seconds(calendar, start, end)
        began = max(start, stint.assigned_since or start)
        stint.handle_s = _seconds(began, end)
        stint.handle_bs = _business_seconds(calendar, began, end)
        stint.final_solve = not stint.reopened
        stint.fcr = (stint.start_kind == "handoff" and not stint.reopened
                     and stint.replies == 1)


def _credit_csat(stints: list[StintFacts], rating: CsatRating | None) -> None:
    """The rating belongs to the solve it rated: the ticket's last one."""
    if rating is None:
        return
    solved = [s for s in stints if s.resolved]
    if solved:
        solved[-1].csat_score = rating.score


# --- the conversation --------------------------------------------------------------------


def derive(history: History, calendar_of: CalendarOf) -> ConversationFacts:
    conversation = history.conversation
    messages = history.messages
    episodes = derive_episodes(history)
    stints = derive_stints(history, calendar_of)
    latest = history.tickets[-1] if history.tickets else None
    agents = [m for m in messages if m.sender_type == SenderType.AGENT]
    first_customer = next((m for m in messages if m.sender_type == SenderType.CUSTOMER), None)
    intent = next((e.intent for e in episodes if e.intent), None)
    if intent is None:
        intent = next((t.detected_intent for t in history.tickets if t.detected_intent), None)
    agent_id = latest.assignee_id if latest is not None else None
    if agent_id is None and agents:
        agent_id = agents[-1].sender_user_id
    return ConversationFacts(
        conversation_id=conversation.id,
        created_at=conversation.created_at,
        created_bucket=bucket_of(conversation.created_at),
        channel=conversation.channel,
        team_id=latest.team_id if latest is not None else None,
        agent_id=agent_id,
        intent=intent,
        priority=latest.priority if latest is not None else None,
        ticket_status=latest.status if latest is not None else None,
        outcome=episodes[0].outcome if episodes else NO_EPISODE,
        messages=len(messages),
        customer_messages=sum(1 for m in messages if m.sender_type == SenderType.CUSTOMER),
        bot_messages=sum(1 for m in messages if m.sender_type == SenderType.BOT),
        agent_messages=len(agents),
        first_customer_message_id=first_customer.id if first_customer else None,
        first_message_masked=(mask_text(history.first_customer_text[:PREVIEW_CHARS])
                              if history.first_customer_text is not None else None),
        episodes_n=len(episodes),
        contained_n=sum(1 for e in episodes if e.outcome == CONTAINED),
        handed_off_n=sum(1 for e in episodes if e.outcome == HANDED_OFF),
        no_reply_n=sum(1 for e in episodes if e.outcome == NO_REPLY),
        clarified_n=sum(1 for e in episodes if e.clarify_turns > 0),
        kb_helpful=sum(1 for helpful in history.kb_ratings if helpful),
        kb_not_helpful=sum(1 for helpful in history.kb_ratings if not helpful),
        gaps=history.gaps,
        episodes=episodes,
        stints=stints,
    )


def as_row(obj: Any, exclude: frozenset[str] = frozenset({"assigned_since", "episodes",
                                                            "stints"})) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if k not in exclude}
