"""Realistic support history for demos and benchmarks (`tandem seed-traffic`).

Each conversation is played forward in simulated time by the same rules the services
follow (bot.pipeline, handoff.intake, handoff.lifecycle, handoff.routing, handoff.sla,
handoff.escalation, handoff.csat, knowledge_base.feedback/gaps, the e-mail channel), and stops
at "now": a conversation that started an hour ago may still wait in the queue. The rows it
leaves are the ones those services would have written: conversation and message rows with the bot's
decision metadata, tickets with their timestamps and SLA due times (computed by the real
`handoff.sla` hooks on the ticket), ticket_events for every change (created, assignee,
status, transfer, sla, csat), transfer notes, CSAT ratings, KB ratings and knowledge gaps,
and e-mail threading records.

What it leaves out on purpose: staff notifications for historical SLA breaches (inbox
items, not history: thousands of unread notices would bury the supervisor's real ones),
domain events / webhook deliveries and realtime events (nobody was listening back then).

Rows are bulk-inserted with SQLAlchemy Core in batches, one short transaction per batch
(SQLite's single writer), with ids assigned here so related rows can point at each other;
PostgreSQL's sequences are moved past them after every batch. Run it while the platform is
idle: a request inserting into the same tables during a batch may collide on an id.
"""

from __future__ import annotations

import hashlib
import importlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from conversations.models import Conversation, ConversationStatus, Message, SenderType
from core.auth.models import User
from core.auth.permissions import Role
from core.database import session_scope, utcnow
from core.settings import get_settings
from handoff import business_hours, sla
from handoff.escalation import CLOCK_NAMES
from handoff.intake import REASON_PRIORITY
from handoff.models import (
    PRIORITY_ORDER,
    AssignmentPolicy,
    BusinessCalendar,
    CsatRating,
    EmailMessage,
    Priority,
    RoutingRule,
    SlaPolicy,
    SlaState,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
    TicketNote,
    TicketStatus,
)
from knowledge_base.articles import load_demo_articles
from knowledge_base.models import Article, ArticleRating, ArticleStatus, GapReason, KnowledgeGap
from nlu.handoff_policy import Reason

S = TicketStatus
NO_LOGIN_HASH = "!seeded: no login"
MAIL_DOMAIN = "tandem.localhost"

# --- what customers say ---------------------------------------------------------------

INTENT_TEXTS: dict[str, list[str]] = {
    "ask_order_status": ["Where is my order {order}?", "Has order {order} shipped yet?",
                         "What's the status of my order {order}?",
                         "I ordered last week and nothing has arrived"],
    "ask_orders": ["Can I change my order {order}?", "How do I cancel an order?",
                   "I want to add something to order {order}"],
    "ask_shipping": ["How long does delivery take?", "Do you ship to Austria?",
                     "How much is express shipping?", "Can I pick my parcel up somewhere?"],
    "ask_returns": ["How do I return an item?", "What is your return policy?",
                    "Can I return a sale item?"],
    "start_return": ["I want to return order {order}", "Please start a return for {order}",
                     "The jacket doesn't fit, I'd like to send it back"],
    "ask_payments": ["Which payment methods do you accept?", "Can I pay by invoice?",
                     "I was charged twice for order {order}", "Is buy now pay later possible?"],
    "ask_account": ["How do I change my e-mail address?", "I can't log in to my account",
                    "Please delete my account, my email is {email}",
                    "How do I reset my password?"],
    "ask_products": ["Is the kettle dishwasher safe?", "What size should I order?",
                     "When will the blue one be back in stock?"],
    "complain": ["This is the third time my parcel is late, unacceptable",
                 "The blender broke after two days, I'm really annoyed"],
    "request_human": ["I want to talk to a person", "Can I speak to an agent please?",
                      "human please"],
}
SMALL_TALK = {"greet": ["Hi", "Hello there", "Good morning"],
              "thank": ["Thanks!", "Thank you, that helped"],
              "goodbye": ["Bye", "That's all, bye"]}
SMALL_TALK_REPLIES = {"greet": "Hi! How can I help you today?",
                      "thank": "You're welcome! Anything else I can help with?",
                      "goodbye": "Goodbye, and thanks for shopping with us!"}
INTENT_CATEGORY = {"ask_order_status": "orders", "ask_orders": "orders",
                   "ask_shipping": "shipping", "ask_returns": "returns",
                   "start_return": "returns", "ask_payments": "payments",
                   "ask_account": "account", "ask_products": "products",
                   "complain": "orders", "request_human": "account"}
FOLLOW_UPS = ["And how long does that take?", "Ok, and what if it's already been sent?",
              "It still hasn't arrived", "Is there a tracking link?", "Thanks, one more thing",
              "Could you check again please?"]
AGENT_REPLIES = ["Hi, thanks for waiting. Let me look into this for you.",
                 "I've checked your order: it left our warehouse yesterday.",
                 "I'm sorry about that. I've started a replacement for you.",
                 "Could you send me the order number, please?",
                 "The refund is on its way; it takes 3-5 working days.",
                 "I've updated your account. Is there anything else?",
                 "Thanks, I can see it now. One moment please."]
CUSTOMER_REPLIES = ["Thank you!", "The order number is {order}", "Ok, great",
                    "That's not what I asked", "Any news?", "Perfect, thanks a lot",
                    "Hello? Still there?"]
CSAT_COMMENTS = ["Quick and friendly", "Took far too long", "Solved my problem",
                 "The agent was very helpful", "Still not fixed"]
TRANSFER_NOTES = ["Billing question, not an order problem", "Needs a refund decision",
                  "Customer asks about a delivery"]
FIRST_NAMES = ["Ann", "Ben", "Chloe", "Dario", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
               "Kira", "Luca", "Mona", "Nils", "Olga", "Pia", "Quinn", "Rosa", "Sven", "Tara"]
LAST_NAMES = ["Meyer", "Schmidt", "Rossi", "Yilmaz", "Okafor", "Novak", "Tanaka", "Silva",
              "Berg", "Costa", "Weber", "Larsen"]
HANDOFF_TEXT = ("I'm not the best one to help with that, so I'm handing you over to a member "
                "of our support team. They can see our conversation so far and will reply "
                "here shortly.")
BOT_UNAVAILABLE_TEXT = ("Sorry, our assistant is unavailable right now. I've passed your "
                        "message to our support team.")
WAITING_TEXT = "You're in the queue for the next available agent."
CSAT_PROMPT = "How did we do? Rate this conversation from 1 to 5."
# Mirrors knowledge_base.gaps: knowledge hand-offs are logged as gaps.
GAP_HANDOFF_REASONS = {"low_kb_score", "low_nlu_confidence", "repeated_fallback"}

# Relative traffic by UTC hour (a European shop: busy late morning to afternoon).
HOUR_WEIGHTS = [1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 4.0, 6.0, 7.0, 7.0, 6.5, 6.5, 6.0,
                5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5]
WEEKEND_FACTOR = 0.55
HOLIDAY_FACTOR = 0.5
# (reason, weight) of bot hand-offs; bot_unavailable comes from the pipeline, not the policy.
HANDOFF_REASONS: list[tuple[str, float]] = [
    ("customer_request", 34), ("low_nlu_confidence", 15), ("low_kb_score", 15),
    ("repeated_fallback", 8), ("frustration", 9), ("intent_override", 8), ("language", 3),
    ("bot_unavailable", 4)]
CSAT_SCORES: list[tuple[int, float]] = [(5, 45), (4, 25), (3, 12), (2, 8), (1, 10)]


@dataclass
class SeedResult:
    conversations: int = 0
    messages: int = 0
    tickets: int = 0
    ticket_events: int = 0
    csat_ratings: int = 0
    kb_ratings: int = 0
    kb_gaps: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --- the world the traffic runs in ------------------------------------------------------


@dataclass(frozen=True)
class TeamInfo:
    id: int
    policy: str
    calendar_id: int | None
    agent_ids: tuple[int, ...]


@dataclass(frozen=True)
class ArticleInfo:
    id: int
    slug: str
    title: str
    category: str
    passage: str


@dataclass
class World:
    teams: dict[int, TeamInfo]
    default_team_id: int
    routes: dict[tuple[str, str], tuple[int, str | None]]  # (field, value) -> (team, priority)
    agent_names: dict[int, str]
    articles: list[ArticleInfo]
    articles_by_category: dict[str, list[ArticleInfo]]
    calendars: dict[int, BusinessCalendar]
    holidays: set[date] = field(default_factory=set)


def prepare_world(session: Session, *, start: datetime, end: datetime) -> World:
    """Teams, agents, SLA policies, routing and articles to run traffic against: what is
    there (the demo's, or a real deployment's), completed with seeded ones where missing."""
    if not session.scalar(select(func.count()).select_from(Article)
                          .where(Article.status == ArticleStatus.PUBLISHED)):
        load_demo_articles(session)
    calendar = _ensure_calendar(session, start, end)
    _ensure_policies(session, calendar)
    _ensure_teams(session, calendar)
    session.flush()
    teams: dict[int, TeamInfo] = {}
    agent_names: dict[int, str] = {}
    for team in session.scalars(select(Team).order_by(Team.id)):
        members = session.execute(
            select(User.id, User.display_name, User.role)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == team.id, User.is_active.is_(True))
            .order_by(User.id)).tuples().all()
        agents = [(uid, name) for uid, name, role in members if role == Role.AGENT] or [
            (uid, name) for uid, name, role in members if role == Role.SUPERVISOR]
        if not agents:
            continue
        agent_names.update(agents)
        teams[team.id] = TeamInfo(team.id, team.assignment_policy, team.calendar_id,
                                  tuple(uid for uid, _ in agents))
    if not teams:
        raise RuntimeError("no team has an agent to answer the seeded tickets")
    routes = {(r.match_field, r.match_value): (r.team_id, r.priority)
              for r in session.scalars(select(RoutingRule)) if r.team_id in teams}
    articles = [ArticleInfo(a.id, a.slug, a.title, a.category, _passage(a.body))
                for a in session.scalars(select(Article).where(
                    Article.status == ArticleStatus.PUBLISHED).order_by(Article.id))]
    by_category: dict[str, list[ArticleInfo]] = {}
    for article in articles:
        by_category.setdefault(article.category, []).append(article)
    calendars = {c.id: c for c in session.scalars(select(BusinessCalendar))}
    holidays = {date.fromisoformat(d) for c in calendars.values() for d in (c.holidays or [])}
    return World(teams, min(teams), routes, agent_names, articles, by_category, calendars,
                 holidays)


def _passage(body: str) -> str:
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip() and not p.startswith("#")]
    return (paragraphs[0] if paragraphs else body)[:400]


SEED_CALENDAR = "Seeded support hours"
WORKDAY = [["08:00", "18:00"]]


def _ensure_calendar(session: Session, start: datetime, end: datetime) -> BusinessCalendar:
    """The calendar SLA policies count in: an existing one, else Berlin weekdays 08-18 with
    a holiday inside the seeded range (so business-hours figures have one to skip)."""
    existing = session.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id).limit(1))
    if existing is not None:
        return existing
    middle = (start + (end - start) / 2).date()
    while middle.weekday() >= 5:
        middle += timedelta(days=1)
    calendar = BusinessCalendar(
        name=SEED_CALENDAR, timezone="Europe/Berlin", always_open=False,
        weekly_hours={**dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), WORKDAY),
                      "sat": [], "sun": []},
        holidays=sorted({middle.isoformat(), f"{end.year}-12-25", f"{end.year}-12-26"}))
    session.add(calendar)
    session.flush()
    return calendar


SEED_POLICIES: list[tuple[Priority, int, int, int, bool]] = [
    (Priority.URGENT, 15, 30, 4 * 60, False),
    (Priority.HIGH, 60, 2 * 60, 8 * 60, True),
    (Priority.NORMAL, 4 * 60, 8 * 60, 24 * 60, True),
    (Priority.LOW, 8 * 60, 24 * 60, 72 * 60, True),
]


def _ensure_policies(session: Session, calendar: BusinessCalendar) -> None:
    for priority, first, following, resolution, on_calendar in SEED_POLICIES:
        if session.scalar(select(SlaPolicy.id).where(SlaPolicy.priority == priority)):
            continue
        session.add(SlaPolicy(priority=priority, first_response_minutes=first,
                              next_response_minutes=following, resolution_minutes=resolution,
                              calendar_id=calendar.id if on_calendar else None, warn_ratio=0.2))


# (slug, name, policy, on the business calendar?, intents routed to it)
SEED_TEAMS: list[tuple[str, str, AssignmentPolicy, bool, list[str]]] = [
    ("general", "General support", AssignmentPolicy.MANUAL, False,
     ["request_human", "ask_account", "ask_products"]),
    ("orders", "Orders & delivery", AssignmentPolicy.ROUND_ROBIN, False,
     ["ask_orders", "ask_order_status", "ask_shipping"]),
    ("billing", "Billing & returns", AssignmentPolicy.LEAST_BUSY, True,
     ["ask_payments", "ask_returns", "start_return", "complain"]),
]
AGENTS_PER_TEAM = 4


def _ensure_teams(session: Session, calendar: BusinessCalendar) -> None:
    """Seeded teams when there are none; seeded agents for teams with fewer than two."""
    if session.scalar(select(func.count()).select_from(Team)) == 0:
        supervisor = _seed_user(session, "seed-supervisor@tandem.demo", "Sasha Supervisor",
                                Role.SUPERVISOR)
        for slug, name, policy, on_calendar, intents in SEED_TEAMS:
            team = Team(slug=slug, name=name, assignment_policy=policy,
                        calendar_id=calendar.id if on_calendar else None)
            session.add(team)
            session.flush()
            session.add(TeamMember(team_id=team.id, user_id=supervisor.id))
            for intent in intents:
                session.add(RoutingRule(match_field="intent", match_value=intent,
                                        team_id=team.id, priority=None))
        session.flush()
    for team in session.scalars(select(Team).order_by(Team.id)).all():
        agents = session.scalar(select(func.count()).select_from(TeamMember)
                                .join(User, User.id == TeamMember.user_id)
                                .where(TeamMember.team_id == team.id, User.role == Role.AGENT))
        if (agents or 0) >= 2:
            continue
        for n in range((agents or 0) + 1, AGENTS_PER_TEAM + 1):
            first = FIRST_NAMES[(team.id * 7 + n) % len(FIRST_NAMES)]
            user = _seed_user(session, f"seed-agent-{team.slug}-{n}@tandem.demo",
                              f"{first} ({team.name} {n})", Role.AGENT)
            if session.get(TeamMember, (team.id, user.id)) is None:
                session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()


def _seed_user(session: Session, email: str, name: str, role: Role) -> User:
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        return existing
    # Seeded staff are names on history, not accounts: a hash no password matches
    # (argon2 cannot parse it, so verify_password says no) and no costly hashing.
    user = User(email=email, display_name=name, password_hash=NO_LOGIN_HASH, role=role,
                is_active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


# --- row buffers --------------------------------------------------------------------------

TABLES: list[Table] = [model.__table__ for model in (  # type: ignore[misc]
    Conversation, Message, Ticket, TicketEvent, TicketNote, CsatRating, ArticleRating,
    KnowledgeGap, EmailMessage)]
TICKET_COLUMNS = [c.key for c in Ticket.__table__.columns]


class Rows:
    """Rows waiting for the next bulk insert, and the next id of every table."""

    def __init__(self, next_ids: dict[str, int]) -> None:
        self.next_ids = next_ids
        self.rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}

    def add(self, table: str, row: dict[str, Any]) -> int:
        if table != "conversations":
            row["id"] = self.next_ids[table]
            self.next_ids[table] += 1
        self.rows[table].append(row)
        return int(row["id"]) if table != "conversations" else 0

    def flush(self, session: Session, result: SeedResult) -> None:
        for table in TABLES:  # parents first
            batch = self.rows[table.name]
            if batch:
                session.execute(insert(table), batch)
        result.conversations += len(self.rows["conversations"])
        result.messages += len(self.rows["messages"])
        result.tickets += len(self.rows["tickets"])
        result.ticket_events += len(self.rows["ticket_events"])
        result.csat_ratings += len(self.rows["csat_ratings"])
        result.kb_ratings += len(self.rows["kb_ratings"])
        result.kb_gaps += len(self.rows["kb_gaps"])
        self.rows = {t.name: [] for t in TABLES}


def _next_ids(session: Session) -> dict[str, int]:
    return {t.name: (session.scalar(select(func.max(t.c.id))) or 0) + 1
            for t in TABLES if t.name != "conversations"}


def _advance_sequences(session: Session) -> None:
    """PostgreSQL: move each serial past the ids assigned here."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        if table.name == "conversations":
            continue
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
            f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table.name}), 1))"))


# --- one conversation, played forward -----------------------------------------------------


class Stop(Exception):
    """The simulated clock passed "now": the rest of this conversation has not happened."""


class ConversationSim:
    def __init__(self, gen: Generator, start: datetime, channel: str) -> None:
        self.gen, self.world, self.rng, self.rows = gen, gen.world, gen.rng, gen.rows
        self.now = gen.now
        self.t = start
        self.id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        has_email = channel == "email" or self.rng.random() < 0.45
        self.email = (f"{first}.{last}{self.rng.randint(1, 999)}@example.com".lower()
                      if has_email else None)
        self.conversation: dict[str, Any] = {
            "id": self.id, "channel": channel, "status": ConversationStatus.BOT,
            "token_hash": hashlib.sha256(self.id.encode() + b"seed").hexdigest(),
            "customer_name": f"{first} {last}" if has_email or self.rng.random() < 0.3
            else None,
            "customer_email": self.email, "customer_external_id": None,
            "identity_verified": False, "locale": "en", "created_at": start,
            "last_message_at": start}
        self.rows.add("conversations", self.conversation)
        self.channel = channel
        self.ticket: Ticket | None = None
        self.scanned_until: datetime | None = None
        self.last_email_id: str | None = None
        self.last_customer_text = ""

    # time
    def wait(self, minutes: float) -> None:
        self.t += timedelta(minutes=max(minutes, 0.05))
        if self.t > self.now:
            raise Stop

    def wait_until(self, moment: datetime) -> None:
        self.t = max(self.t, moment)
        if self.t > self.now:
            raise Stop

    # transcript
    def message(self, sender: SenderType, body: str, meta: dict[str, Any] | None = None,
                user_id: int | None = None) -> int:
        client_id = (uuid.UUID(int=self.rng.getrandbits(128)).hex
                     if sender == SenderType.CUSTOMER and self.channel == "widget" else None)
        message_id = self.rows.add("messages", {
            "conversation_id": self.id, "sender_type": sender, "sender_user_id": user_id,
            "body": body, "client_message_id": client_id, "meta": meta or {},
            "created_at": self.t})
        self.conversation["last_message_at"] = self.t
        return message_id

    def customer(self, body: str) -> int:
        self.last_customer_text = body
        message_id = self.message(SenderType.CUSTOMER, body)
        if self.conversation["status"] == ConversationStatus.RESOLVED:
            self.conversation["status"] = ConversationStatus.BOT
        return message_id

    def bot(self, body: str, trace: dict[str, Any]) -> None:
        self.message(SenderType.BOT, body, trace)
        kind = trace.get("kind")
        if kind == "clarify":
            self.gap(GapReason.BELOW_THRESHOLD, trace.get("kb_score"))
        elif kind == "handoff" and trace.get("reason") in GAP_HANDOFF_REASONS:
            self.gap(GapReason.HANDED_OFF, trace.get("kb_score"))

    def gap(self, reason: str, score: float | None, article_id: int | None = None) -> None:
        self.rows.add("kb_gaps", {
            "query": self.last_customer_text[:1000], "reason": reason, "locale": "en",
            "conversation_id": self.id, "article_id": article_id, "score": score,
            "created_at": self.t})

    def email_record(self, direction: str, message_id: int, subject: str) -> None:
        if self.ticket is None:
            return
        mid = f"<{uuid.UUID(int=self.rng.getrandbits(128)).hex}@" + (
            "example.com>" if direction == "inbound" else f"{MAIL_DOMAIN}>")
        if direction == "outbound" and self.last_email_id is not None:
            subject = f"Re: {subject}"
        self.rows.add("email_messages", {
            "message_id": mid, "ticket_id": self.ticket.id, "direction": direction,
            "in_reply_to": self.last_email_id, "subject": subject[:300],
            "sender": (self.email or "") if direction == "inbound" else f"support@{MAIL_DOMAIN}",
            "chat_message_id": message_id, "created_at": self.t,
            # Delivered long ago: the resend sweep must not mail seeded customers.
            "sent_at": self.t if direction == "outbound" else None})
        self.last_email_id = mid

    # ticket history (handoff.history.record)
    def event(self, action: str, before: Any = None, after: Any = None,
              note: str | None = None, actor: int | None = None,
              at: datetime | None = None) -> None:
        assert self.ticket is not None
        moment = at or self.t
        self.rows.add("ticket_events", {
            "ticket_id": self.ticket.id, "actor_id": actor, "action": action,
            "before": before, "after": after, "note": note, "created_at": moment})
        self.ticket.updated_at = moment

    def move(self, new: str, *, actor: int | None, note: str | None = None) -> None:
        """handoff.lifecycle._move"""
        ticket = self.ticket
        assert ticket is not None
        old = ticket.status
        if new == old:
            return
        self.escalate_until(self.t)
        ticket.status = new
        if new == S.SOLVED:
            ticket.solved_at = self.t
        if new == S.CLOSED:
            ticket.closed_at = self.t
        self.event("status", old, new, note, actor)
        sla.on_status_changed(self.gen.session, ticket, old, self.t)

    def escalate_until(self, moment: datetime) -> None:
        """handoff.escalation.scan as the beat would have run it up to `moment`."""
        ticket = self.ticket
        if (ticket is None or ticket.status not in (S.NEW, S.OPEN, S.ON_HOLD)
                or ticket.sla_paused_at is not None):
            return
        moment = min(moment, self.now)
        # Scanned up to here already: the hooks only move due times later or stop clocks,
        # so nothing new can have crossed before this moment.
        previous = self.scanned_until
        if previous is not None and moment <= previous:
            return
        self.scanned_until = moment
        readings = sla.read_clocks(self.gen.session, ticket, moment)
        reached = sla.worst_level(readings)
        for level in (SlaState.NEAR_BREACH, SlaState.BREACHED):
            current = SlaState(ticket.sla_state or SlaState.OK)
            if not sla.STATE_RANK[current] < sla.STATE_RANK[level] <= sla.STATE_RANK[reached]:
                continue
            reading, at = self.gen.crossing(ticket, readings, level)
            scanned = at + timedelta(seconds=self.rng.uniform(1, 60))  # the beat's period
            if previous is not None and scanned <= previous:
                # Missed by the scan before (it was too soon after the crossing): found now.
                scanned = previous + timedelta(seconds=1)
            if scanned > moment:
                continue
            self.escalate(level, reading, scanned)

    def escalate(self, level: SlaState, reading: sla.ClockReading, at: datetime) -> None:
        ticket = self.ticket
        assert ticket is not None
        before = {"sla_state": ticket.sla_state, "priority": ticket.priority}
        ticket.sla_state = level
        ticket.escalated_at = at
        if level == SlaState.BREACHED:
            order = [str(p) for p in PRIORITY_ORDER]
            ticket.priority = order[min(order.index(ticket.priority) + 1, len(order) - 1)]
        after = {"sla_state": ticket.sla_state, "priority": ticket.priority,
                 "clock": reading.clock, "due_at": reading.due_at.isoformat()}
        clock = CLOCK_NAMES[reading.clock]
        verb = "breached its" if level == SlaState.BREACHED else "is close to its"
        note = (f"Ticket #{ticket.id} {verb} {clock} target "
                f"(due {reading.due_at:%Y-%m-%d %H:%M} UTC)")
        self.event("sla", before, after, note, None, at=at)

    # the ticket's life (handoff.intake, handoff.lifecycle)
    def hand_off(self, reason: str, intent: str | None, confidence: float | None,
                 subject: str, *, email: bool = False) -> None:
        rule = (self.world.routes.get(("intent", intent or "")) or
                self.world.routes.get(("reason", reason)))
        team_id, rule_priority = rule if rule else (None, None)
        if team_id is None:  # unrouted tickets stay teamless; most deployments route them
            team_id = self.world.default_team_id if self.rng.random() < 0.9 else None
        priority = rule_priority or REASON_PRIORITY.get(reason, Priority.NORMAL)
        ticket = Ticket(
            id=self.rows.next_ids["tickets"], conversation_id=self.id, status=S.NEW,
            priority=str(priority), reason=reason, detected_intent=intent,
            intent_confidence=confidence, subject=subject[:200], category=None, tags=[],
            assignee_id=None, team_id=team_id, merged_into_id=None, reply_by_email=email,
            created_at=self.t, updated_at=self.t, claimed_at=None, first_response_at=None,
            last_customer_message_at=self.t, last_agent_reply_at=None, solved_at=None,
            closed_at=None, sla_policy_id=None, first_response_due_at=None,
            next_response_due_at=None, resolution_due_at=None, sla_paused_at=None,
            sla_state=SlaState.OK, escalated_at=None)
        self.rows.next_ids["tickets"] += 1
        self.ticket = ticket
        self.gen.tickets.append(ticket)
        self.event("created", after={"status": ticket.status, "priority": ticket.priority,
                                     "team_id": ticket.team_id, "reason": ticket.reason})
        sla.on_ticket_created(self.gen.session, ticket, self.t)
        self.conversation["status"] = ConversationStatus.HUMAN

    def team(self) -> TeamInfo:
        assert self.ticket is not None
        team_id = self.ticket.team_id
        return self.world.teams[team_id if team_id in self.world.teams
                                else self.world.default_team_id]

    def route_to_people(self) -> None:
        """handoff.intake._route_to_people: auto-assign, queued notice, or away."""
        ticket = self.ticket
        assert ticket is not None
        team = self.team() if ticket.team_id is not None else None
        calendar = self.world.calendars.get(team.calendar_id) if team and team.calendar_id \
            else None
        open_now = business_hours.is_open(calendar, self.t)
        online = open_now and self.rng.random() < (0.55 if self.gen.night(self.t) else 0.92)
        if (online and team is not None and team.policy != AssignmentPolicy.MANUAL
                and self.rng.random() < 0.8):
            self.assign(self.rng.choice(team.agent_ids), actor=None,
                        note=f"assigned by {team.policy}")
            return
        if online:
            self.message(SenderType.SYSTEM, WAITING_TEXT, {"kind": "queued",
                                                            "ticket_id": ticket.id})
            return
        ticket.reply_by_email = True
        when = None if open_now else business_hours.next_open(calendar, self.t)
        text_when = f" after we open at {when:%a %d %b %H:%M} UTC" if when else ""
        body = (f"Our team is not available right now. We have opened ticket #{ticket.id} "
                f"and will reply by e-mail{text_when}.")
        if not self.email:
            body += " Please leave your e-mail address so we can reach you."
        self.message(SenderType.SYSTEM, body, {
            "kind": "away", "ticket_id": ticket.id,
            "next_open_at": when.isoformat() if when else None,
            "email_known": bool(self.email)})

    def assign(self, agent_id: int, *, actor: int | None, note: str) -> None:
        """handoff.routing.assign_to (no status event: it sets open itself)."""
        ticket = self.ticket
        assert ticket is not None
        self.escalate_until(self.t)
        before = {"assignee_id": ticket.assignee_id, "status": ticket.status}
        ticket.assignee_id = agent_id
        ticket.status = S.OPEN
        ticket.claimed_at = ticket.claimed_at or self.t
        self.event("assignee", before, {"assignee_id": agent_id, "status": ticket.status},
                   note, actor)

    def claim(self, agent_id: int) -> None:
        ticket = self.ticket
        assert ticket is not None
        self.escalate_until(self.t)
        ticket.status, ticket.assignee_id, ticket.claimed_at = S.OPEN, agent_id, self.t
        self.event("assignee", {"assignee_id": None, "status": S.NEW},
                   {"assignee_id": agent_id, "status": S.OPEN}, "claimed", agent_id)
        sla.on_status_changed(self.gen.session, ticket, S.NEW, self.t)

    def agent_reply(self, body: str, agent_id: int | None = None) -> None:
        ticket = self.ticket
        assert ticket is not None
        self.escalate_until(self.t)
        if ticket.assignee_id is None:
            self.claim(agent_id or self.rng.choice(self.team().agent_ids))
        agent = ticket.assignee_id
        assert agent is not None
        message_id = self.message(SenderType.AGENT, body,
                                  {"agent_name": self.world.agent_names.get(agent, "Agent"),
                                   "ticket_id": ticket.id}, user_id=agent)
        if ticket.first_response_at is None:
            ticket.first_response_at = self.t
        ticket.last_agent_reply_at = self.t
        sla.on_agent_reply(self.gen.session, ticket, self.t)
        if ticket.reply_by_email and self.email:
            self.email_record("outbound", message_id, f"[#{ticket.id}] {ticket.subject}")
        if ticket.status == S.SOLVED:
            self.move(S.OPEN, actor=agent)
        self.conversation["status"] = ConversationStatus.HUMAN
        ticket.updated_at = self.t

    def customer_reply(self, body: str) -> None:
        """A customer message on a ticket's conversation (handoff.lifecycle.customer_wrote)."""
        ticket = self.ticket
        assert ticket is not None
        self.escalate_until(self.t)
        message_id = self.customer(body)
        if self.channel == "email":
            self.email_record("inbound", message_id, f"Re: [#{ticket.id}] {ticket.subject}")
        if ticket.status == S.CLOSED:
            return
        window = timedelta(hours=get_settings().ticket_reopen_window_hours)
        if ticket.status == S.SOLVED and (ticket.solved_at is None
                                          or self.t - ticket.solved_at > window):
            return
        ticket.last_customer_message_at = self.t
        if ticket.status == S.SOLVED:
            self.move(S.OPEN if ticket.assignee_id else S.NEW, actor=None,
                      note="customer replied; reopened")
            ticket.solved_at = None
        elif ticket.status == S.PENDING:
            self.move(S.OPEN if ticket.assignee_id else S.NEW, actor=None,
                      note="customer replied")
        sla.on_customer_message(self.gen.session, ticket, self.t)
        self.conversation["status"] = ConversationStatus.HUMAN

    def set_pending(self) -> None:
        assert self.ticket is not None
        self.escalate_until(self.t)
        self.move(S.PENDING, actor=self.ticket.assignee_id)

    def solve(self, agent_id: int | None = None) -> None:
        ticket = self.ticket
        assert ticket is not None
        self.escalate_until(self.t)
        if ticket.assignee_id is None:
            self.assign(agent_id or self.rng.choice(self.team().agent_ids),
                        actor=agent_id, note="solved by")
        self.move(S.SOLVED, actor=ticket.assignee_id)
        self.conversation["status"] = ConversationStatus.RESOLVED
        message_id = self.message(SenderType.SYSTEM, CSAT_PROMPT,
                                  {"kind": "csat_request", "ticket_id": ticket.id})
        if ticket.reply_by_email and self.email:
            self.email_record("outbound", message_id, f"[#{ticket.id}] {ticket.subject}")

    def rate(self) -> None:
        ticket = self.ticket
        assert ticket is not None
        score = self.gen.weighted(CSAT_SCORES)
        comment = self.rng.choice(CSAT_COMMENTS) if self.rng.random() < 0.25 else None
        channel = self.channel
        self.rows.add("csat_ratings", {
            "ticket_id": ticket.id, "agent_id": ticket.assignee_id, "team_id": ticket.team_id,
            "score": score, "comment": comment, "channel": channel, "created_at": self.t})
        self.event("csat", None, {"score": score, "comment": comment, "channel": channel})

    def close_after_window(self) -> None:
        """handoff.close_solved (every 10 minutes) once the reopen window has passed."""
        ticket = self.ticket
        assert ticket is not None and ticket.solved_at is not None
        window = timedelta(hours=get_settings().ticket_reopen_window_hours)
        self.wait_until(ticket.solved_at + window + timedelta(minutes=self.rng.uniform(0, 10)))
        self.move(S.CLOSED, actor=None, note="reopen window passed")

    def transfer(self, agent_id: int) -> None:
        ticket = self.ticket
        assert ticket is not None
        others = [t for t in self.world.teams if t != ticket.team_id]
        if not others:
            return
        self.escalate_until(self.t)
        new_team = self.rng.choice(others)
        note = self.rng.choice(TRANSFER_NOTES)
        self.rows.add("ticket_notes", {"ticket_id": ticket.id, "author_id": agent_id,
                                       "body": f"Transferred: {note}", "created_at": self.t})
        ticket.updated_at = self.t
        before = {"team_id": ticket.team_id, "assignee_id": ticket.assignee_id,
                  "status": ticket.status}
        ticket.team_id = new_team
        ticket.assignee_id = None
        if ticket.status != S.NEW:
            self.move(S.NEW, actor=agent_id, note="transferred")
        self.event("transfer", before, {"team_id": new_team, "assignee_id": None,
                                        "status": ticket.status}, note, agent_id)

    def finish(self) -> None:
        """The SLA scan catches up to now on whatever is still open."""
        if self.ticket is not None:
            self.escalate_until(self.now)


# --- the generator ------------------------------------------------------------------------


class Generator:
    def __init__(self, world: World, rows: Rows, rng: random.Random, now: datetime) -> None:
        self.world, self.rows, self.rng, self.now = world, rows, rng, now
        self.session: Session
        self.tickets: list[Ticket] = []
        self.keep: list[Any] = []

    def weighted(self, options: list[tuple[Any, float]]) -> Any:
        return self.rng.choices([o for o, _ in options], [w for _, w in options])[0]

    @staticmethod
    def night(at: datetime) -> bool:
        return at.hour >= 21 or at.hour < 6

    def crossing(self, ticket: Ticket, readings: list[sla.ClockReading], level: SlaState
                 ) -> tuple[sla.ClockReading, datetime]:
        """The clock that reached `level` first, and when it did."""
        best: tuple[sla.ClockReading, datetime] | None = None
        for reading in readings:
            if sla.STATE_RANK[reading.level] < sla.STATE_RANK[level]:
                continue
            if level == SlaState.BREACHED or not reading.target_minutes:
                at = reading.due_at
            else:
                policy = self.session.get(SlaPolicy, ticket.sla_policy_id)
                warn = policy.warn_ratio if policy else 0.2
                calendar = sla.calendar_of(self.session, policy)
                at = business_hours.add_business_minutes(
                    calendar, reading.due_at, -warn * reading.target_minutes)
            if best is None or at < best[1]:
                best = (reading, at)
        assert best is not None
        return best

    # --- delays
    def agent_delay(self, sim: ConversationSim, *, first: bool) -> float:
        """Minutes until an agent acts: quick mostly, a long tail that breaches SLAs,
        slower at night; a team on business hours waits for its next opening."""
        slow = self.rng.random() < (0.16 if first else 0.08)
        minutes = self.rng.lognormvariate(5.6 if slow else 1.4, 0.6)  # ~4.5 h or ~4 min
        if self.night(sim.t):
            minutes *= 3
        team = sim.team() if sim.ticket is not None else None
        calendar = self.world.calendars.get(team.calendar_id) if team and team.calendar_id \
            else None
        if calendar is not None and not business_hours.is_open(calendar, sim.t):
            opens = business_hours.next_open(calendar, sim.t)
            minutes += (opens - sim.t).total_seconds() / 60
        return minutes

    def customer_delay(self) -> float:
        return self.rng.lognormvariate(1.0, 0.8)  # ~3 minutes

    # --- starts
    def starts(self, count: int, days: int) -> list[datetime]:
        first_day = (self.now - timedelta(days=days)).date()
        slots: list[datetime] = []
        weights: list[float] = []
        for d in range(days + 1):
            day = first_day + timedelta(days=d)
            factor = WEEKEND_FACTOR if day.weekday() >= 5 else 1.0
            if day in self.world.holidays:
                factor *= HOLIDAY_FACTOR
            for hour, weight in enumerate(HOUR_WEIGHTS):
                slot = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
                if slot + timedelta(hours=1) <= self.now - timedelta(days=days) or slot >= self.now:
                    continue
                slots.append(slot)
                weights.append(weight * factor)
        chosen = self.rng.choices(slots, weights, k=count)
        starts = [s + timedelta(seconds=self.rng.uniform(0, 3600)) for s in chosen]
        lower = self.now - timedelta(days=days)
        return sorted(min(max(s, lower), self.now - timedelta(seconds=1)) for s in starts)

    # --- scenarios
    def conversation(self, start: datetime) -> None:
        channel = self.weighted([("widget", 55), ("rest", 25), ("email", 20)])
        sim = ConversationSim(self, start, channel)
        try:
            if channel == "email":
                self.email_case(sim)
            else:
                self.chat(sim)
        except Stop:
            pass
        sim.finish()

    def intent(self) -> str:
        return self.rng.choice(list(INTENT_TEXTS))

    def say(self, template: str) -> str:
        return template.format(order=self.rng.randint(100000, 999999),
                               email=f"customer{self.rng.randint(1, 9999)}@example.com")

    def trace(self, intent: str, confidence: float, kb_score: float | None, decision: str,
              reason: str, kind: str | None) -> dict[str, Any]:
        trace: dict[str, Any] = {
            "intent": intent, "confidence": round(confidence, 4),
            "kb_score": round(kb_score, 4) if kb_score is not None else None,
            "decision": decision, "reason": reason, "ranking_source": "tandem",
            "rasa_intent": intent}
        if kind is not None:
            trace["kind"] = kind
        return trace

    def article_for(self, intent: str) -> ArticleInfo:
        pool = self.world.articles_by_category.get(INTENT_CATEGORY.get(intent, ""),
                                                   self.world.articles)
        return self.rng.choice(pool or self.world.articles)

    def answer(self, sim: ConversationSim, intent: str) -> ArticleInfo:
        article = self.article_for(intent)
        score = self.rng.uniform(0.62, 0.93)
        related = [a for a in self.world.articles_by_category.get(article.category, [])
                   if a.id != article.id][:2]
        trace = {**self.trace(intent, self.rng.uniform(0.75, 0.99), score, "answer",
                              "confident", "answer"),
                 "article": {"id": article.id, "slug": article.slug, "title": article.title,
                             "url": f"/help/articles/{article.slug}",
                             "matched_on": self.rng.choice(["title", "question", "passage"])},
                 "related": [{"slug": a.slug, "title": a.title,
                              "score": round(score - self.rng.uniform(0.05, 0.2), 4)}
                             for a in related]}
        sim.wait(self.rng.uniform(0.02, 0.1))
        sim.bot(article.passage, trace)
        return article

    def rate_answer(self, sim: ConversationSim, article: ArticleInfo) -> None:
        """knowledge_base.feedback.rate_answer: a not-helpful rating is also a gap."""
        sim.wait(self.rng.uniform(0.2, 2))
        helpful = self.rng.random() < 0.78
        sim.rows.add("kb_ratings", {"conversation_id": sim.id, "article_id": article.id,
                                    "query": sim.last_customer_text[:1000], "helpful": helpful,
                                    "created_at": sim.t})
        if not helpful:
            sim.gap(GapReason.NOT_HELPFUL, None, article.id)

    def clarify(self, sim: ConversationSim, intent: str) -> None:
        other = self.rng.choice([i for i in INTENT_TEXTS if i != intent])
        reason = self.rng.choice(["ambiguous_intent", "uncertain_kb_match"])
        if reason == "ambiguous_intent":
            body = (f"Just to be sure: is this about {intent.replace('_', ' ')}, or about "
                    f"{other.replace('_', ' ')}?")
        else:
            body = ("Just to check I understood: is your question about "
                    f"\u201c{self.article_for(intent).title}\u201d? If not, could you "
                    "rephrase it?")
        sim.wait(self.rng.uniform(0.02, 0.1))
        sim.bot(body, self.trace(intent, self.rng.uniform(0.35, 0.6),
                                 self.rng.uniform(0.4, 0.6), "clarify", reason, "clarify"))

    def chat(self, sim: ConversationSim) -> None:
        roll = self.rng.random()
        if roll < 0.06:  # small talk only
            for intent in ("greet", "thank", "goodbye")[: self.rng.randint(1, 3)]:
                sim.customer(self.rng.choice(SMALL_TALK[intent]))
                sim.wait(0.05)
                sim.message(SenderType.BOT, SMALL_TALK_REPLIES[intent],
                            self.trace(intent, self.rng.uniform(0.9, 0.99), None, "answer",
                                       "small_talk", None))
                sim.wait(self.customer_delay())
            return
        if self.rng.random() < 0.55:
            sim.customer(self.rng.choice(SMALL_TALK["greet"]))
            sim.wait(0.05)
            sim.message(SenderType.BOT, SMALL_TALK_REPLIES["greet"],
                        self.trace("greet", 0.97, None, "answer", "small_talk", None))
            sim.wait(self.customer_delay())
        hand_off = roll >= 0.54
        intent = self.intent()
        sim.customer(self.say(self.rng.choice(INTENT_TEXTS[intent])))
        if not hand_off:
            self.contained(sim, intent, abandon_after_clarify=roll < 0.09)
            return
        reason = self.weighted(HANDOFF_REASONS)
        if reason == "bot_unavailable":
            sim.wait(self.rng.uniform(0.1, 0.5))  # the Rasa timeout
            sim.message(SenderType.SYSTEM, BOT_UNAVAILABLE_TEXT,
                        {"reason": Reason.BOT_UNAVAILABLE,
                         "detail": self.rng.choice(["connection refused", "timed out"])})
            sim.hand_off(reason, None, None, sim.last_customer_text)
        else:
            if reason == "repeated_fallback":
                for _ in range(2):
                    self.clarify(sim, intent)
                    sim.wait(self.customer_delay())
                    sim.customer(self.say(self.rng.choice(FOLLOW_UPS)))
            elif reason == "customer_request" and intent != "request_human":
                article = self.answer(sim, intent)
                if self.rng.random() < 0.3:
                    self.rate_answer(sim, article)
                sim.wait(self.customer_delay())
                intent = "request_human"
                sim.customer(self.rng.choice(INTENT_TEXTS[intent]))
            confidence = self.rng.uniform(0.2, 0.55) if reason in (
                "low_nlu_confidence", "repeated_fallback") else self.rng.uniform(0.6, 0.98)
            kb = self.rng.uniform(0.2, 0.45) if reason == "low_kb_score" else None
            sim.wait(self.rng.uniform(0.02, 0.1))
            sim.bot(HANDOFF_TEXT, self.trace(intent, confidence, kb, "handoff", reason,
                                             "handoff"))
            sim.hand_off(reason, intent, round(confidence, 4), sim.last_customer_text)
        sim.route_to_people()
        self.human(sim)

    def contained(self, sim: ConversationSim, intent: str, *, abandon_after_clarify: bool
                  ) -> None:
        if abandon_after_clarify or self.rng.random() < 0.15:
            self.clarify(sim, intent)
            if abandon_after_clarify:
                return
            sim.wait(self.customer_delay())
            sim.customer(self.say(self.rng.choice(INTENT_TEXTS[intent])))
        turns = self.rng.choices([1, 2, 3, 4, 5], [15, 28, 25, 18, 14])[0]
        for turn in range(turns):
            article = self.answer(sim, intent)
            if self.rng.random() < 0.3:
                self.rate_answer(sim, article)
            if turn + 1 < turns:
                sim.wait(self.customer_delay())
                sim.customer(self.say(self.rng.choice(FOLLOW_UPS)))
        if self.rng.random() < 0.7:
            sim.wait(self.customer_delay())
            sim.customer(self.rng.choice(SMALL_TALK["thank"]))
            sim.wait(0.05)
            sim.message(SenderType.BOT, SMALL_TALK_REPLIES["thank"],
                        self.trace("thank", 0.98, None, "answer", "small_talk", None))

    def email_case(self, sim: ConversationSim) -> None:
        """bot.channels.email.inbound: a new e-mail is a ticket answered by e-mail."""
        intent = self.intent()
        subject = self.say(self.rng.choice(INTENT_TEXTS[intent]))
        message_id = sim.customer(subject + "\n\n" + self.rng.choice(FOLLOW_UPS))
        sim.conversation["status"] = ConversationStatus.HUMAN
        sim.hand_off(Reason.EMAIL, None, None, subject, email=True)
        sim.email_record("inbound", message_id, subject)
        assert sim.ticket is not None
        team = sim.team()
        if team.policy != AssignmentPolicy.MANUAL and self.rng.random() < 0.5:
            sim.assign(self.rng.choice(team.agent_ids), actor=None,
                       note=f"assigned by {team.policy}")
        sim.wait(self.rng.uniform(0.05, 0.5))  # the acknowledgement task
        ack = sim.message(SenderType.SYSTEM,
                          f"Thank you for contacting us. Your request is ticket "
                          f"#{sim.ticket.id}; we will reply by e-mail to {sim.email} as soon "
                          "as we can.",
                          {"kind": "email_acknowledgement", "ticket_id": sim.ticket.id})
        sim.email_record("outbound", ack, subject)
        self.human(sim, email=True)

    def human(self, sim: ConversationSim, *, email: bool = False) -> None:
        """The agents' side of a ticket: claim, replies, pending, transfer, solve, rating,
        reopen, close; with abandoned and never-answered cases."""
        ticket = sim.ticket
        assert ticket is not None
        roll = self.rng.random()
        if roll < 0.03:
            return  # nobody ever answers (still in the queue, or forgotten)
        sim.wait(self.agent_delay(sim, first=True))
        if roll < 0.06:  # resolved without a reply (a duplicate, spam): no first response
            sim.solve(self.rng.choice(sim.team().agent_ids))
            sim.close_after_window()
            return
        agent = ticket.assignee_id or self.rng.choice(sim.team().agent_ids)
        if self.rng.random() < 0.07:  # wrong team: transfer before anyone answers properly
            if ticket.assignee_id is None:
                sim.claim(agent)
            sim.transfer(agent)
            sim.wait(self.agent_delay(sim, first=True))
            agent = self.rng.choice(sim.team().agent_ids)
        sim.agent_reply(self.rng.choice(AGENT_REPLIES), agent)
        rounds = self.rng.choices([0, 1, 2, 3, 4, 5, 6], [5, 14, 22, 22, 16, 12, 9])[0]
        for _ in range(rounds):
            if self.rng.random() < 0.1:
                sim.set_pending()
                sim.wait(self.customer_delay() * (30 if email else 5))
            else:
                sim.wait(self.customer_delay() * (20 if email else 1))
            sim.customer_reply(self.say(self.rng.choice(CUSTOMER_REPLIES)))
            sim.wait(self.agent_delay(sim, first=False))
            sim.agent_reply(self.rng.choice(AGENT_REPLIES))
        sim.wait(self.rng.uniform(0.5, 5))
        sim.solve()
        self.after_solve(sim)

    def after_solve(self, sim: ConversationSim) -> None:
        if self.rng.random() < 0.35:
            sim.wait(self.rng.lognormvariate(1.5, 1.0))
            sim.rate()
        if self.rng.random() < 0.08:  # the customer writes back within the window: reopened
            sim.wait(self.rng.uniform(30, 60 * 48))
            sim.customer_reply(self.say(self.rng.choice(CUSTOMER_REPLIES[3:])))
            sim.wait(self.agent_delay(sim, first=False))
            sim.agent_reply(self.rng.choice(AGENT_REPLIES))
            sim.wait(self.rng.uniform(0.5, 5))
            sim.solve()
            if self.rng.random() < 0.2:
                sim.wait(self.rng.lognormvariate(1.5, 1.0))
                if sim.ticket is not None and not any(
                        r["ticket_id"] == sim.ticket.id for r in sim.rows.rows["csat_ratings"]):
                    sim.rate()
        sim.close_after_window()


def _roll_up() -> Callable[[Session, list[str]], int] | None:
    """reporting.facts.refresh, when the report roll-ups are installed."""
    try:
        facts = importlib.import_module("reporting.facts")
    except ImportError:
        return None
    refresh: Callable[[Session, list[str]], int] | None = getattr(facts, "refresh", None)
    return refresh


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {key: getattr(ticket, key) for key in TICKET_COLUMNS}


def seed_traffic(conversations: int, days: int, seed: int = 0, *, now: datetime | None = None,
                 batch_size: int = 2000, roll_up: bool = True,
                 progress: Callable[[SeedResult], None] | None = None) -> SeedResult:
    """Generate `conversations` conversations spread over the last `days` days.

    Bulk inserts bypass the ORM flush that marks conversations for the report roll-ups, so
    with `roll_up` each batch is rolled up in its own transaction (benchmarks pass False
    and time `reporting.facts.refresh_all` on its own)."""
    if conversations < 0:
        raise ValueError("conversations must not be negative")
    if days < 1:
        raise ValueError("days must be at least 1")
    began = time.perf_counter()
    now = now or utcnow()
    rng = random.Random(seed)
    result = SeedResult()
    with session_scope() as session:
        world = prepare_world(session, start=now - timedelta(days=days), end=now)
    with session_scope() as session:
        rows = Rows(_next_ids(session))
    generator = Generator(world, rows, rng, now)
    starts = generator.starts(conversations, days)
    for offset in range(0, len(starts), batch_size):
        with session_scope() as session:
            generator.session = session
            generator.tickets = []
            # Held here so the SLA hooks' session.get() finds them in the identity map.
            generator.keep = [*session.scalars(select(SlaPolicy)),
                              *session.scalars(select(BusinessCalendar))]
            for start in starts[offset:offset + batch_size]:
                generator.conversation(start)
            # Tickets go in after their last change; other rows in generation order.
            tickets = [ticket_row(t) for t in generator.tickets]
            conversations_rows = rows.rows["conversations"]
            rows.rows["conversations"] = []
            session.execute(insert(Conversation.__table__), conversations_rows)  # type: ignore[arg-type]
            if tickets:
                session.execute(insert(Ticket.__table__), tickets)  # type: ignore[arg-type]
            result.conversations += len(conversations_rows)
            result.tickets += len(tickets)
            rows.rows["tickets"] = []
            rows.flush(session, result)
            _advance_sequences(session)
            if roll_up and (refresh := _roll_up()) is not None:
                refresh(session, [row["id"] for row in conversations_rows])
        if progress is not None:
            progress(result)
    result.seconds = round(time.perf_counter() - began, 2)
    return result


def has_traffic(session: Session) -> bool:
    """True once the database holds any conversation (seeded or real)."""
    return session.scalar(select(Conversation.id).limit(1)) is not None
