"""A small hand-built support history with known timestamps, for the metric tests.

Rows are written the way the services write them (ticket events for creation, assignment,
status, transfer, SLA breach; agent replies carrying their ticket id; bot turns carrying the
decision metadata of bot/actions/respond.py), but at chosen moments, so every expected
figure can be worked out by hand. Berlin is UTC+1 throughout November 2026.

  calendar "berlin-weekdays": Europe/Berlin, Mon-Fri 09:00-17:00, holiday Thu 2026-11-19
  team A (support) uses it; team B (billing) has none (24/7)

  C1 widget Mon 11-16 10:00Z  bot answers (order_status), rated helpful        -> contained
  C2 rest   Fri 11-20 14:29Z  clarify, then hand-off low_kb_score at 14:31Z to A; a1 takes it
            Mon 08:25Z, replies 08:30Z, solves 08:40Z; SLA breach recorded; CSAT 4
  C3 widget Wed 11-18 14:59Z  hand-off customer_request 15:00Z to A (a1 at 15:05Z), across the
            holiday: reply Fri 09:00Z; customer 09:10Z, reply 09:40Z; solved 09:45Z; the
            customer writes 10:00Z and reopens it; reply 10:20Z; solved 10:30Z; CSAT 5
  C4 rest   Mon 11-23 09:59Z  hand-off low_nlu_confidence 10:00Z to A (a1 10:05Z, no reply),
            transferred to B 10:30Z; b1 takes it 10:40Z, replies 10:45Z, solves 11:00Z
  C5 widget Mon 11-23 12:00Z  hand-off frustration 12:01Z to B, priority high; nobody replies
  C6 rest   Mon 11-23 13:00Z  hand-off low_nlu_confidence 13:01Z to B; b1 13:05Z solves it
            13:10Z without replying (handed off, not contained)
  C7 widget Mon 11-30 23:30Z  bot answers (order_status)   (Tue 12-01 08:30 in Tokyo)
  C8 rest   Mon 11-30 18:45Z  customer only, no bot reply  (Tue 12-01 00:15 in Kolkata)
  C9 email  Mon 11-23 14:00Z  e-mail ticket to B (no bot episode); b1 14:10Z, reply 14:30Z,
            solved 14:40Z
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from conversations.models import Conversation, Message
from core.auth.models import User
from handoff.models import (
    BusinessCalendar,
    CsatRating,
    SlaPolicy,
    Team,
    Ticket,
    TicketEvent,
)
from knowledge_base.models import ArticleRating, KnowledgeGap
from tests.factories import make_user

_serial = itertools.count(1)


def at(text: str) -> datetime:
    """'11-20 14:31' or '11-20 14:31:05' in November/December 2026, UTC."""
    day, clock = text.split(" ")
    month, dom = (int(x) for x in day.split("-"))
    parts = [int(x) for x in clock.split(":")]
    return datetime(2026, month, dom, parts[0], parts[1], parts[2] if len(parts) > 2 else 0,
                    tzinfo=UTC)


@dataclass
class Builder:
    session: Session
    policy_id: int | None = None
    conversations: dict[str, Conversation] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)

    def conversation(self, name: str, channel: str, when: str) -> Conversation:
        conversation = Conversation(channel=channel, status="bot", token_hash="x" * 64,
                                    created_at=at(when), last_message_at=at(when))
        self.session.add(conversation)
        self.session.flush()
        self.conversations[name] = conversation
        return conversation

    def message(self, name: str, sender: str, when: str, body: str = "hello",
                meta: dict[str, Any] | None = None, user: User | None = None) -> Message:
        message = Message(conversation_id=self.conversations[name].id, sender_type=sender,
                          body=body, meta=meta or {}, created_at=at(when),
                          sender_user_id=user.id if user else None)
        self.session.add(message)
        self.session.flush()
        return message

    def bot(self, name: str, when: str, kind: str, intent: str, reason: str = "confident"
            ) -> Message:
        return self.message(name, "bot", when, f"bot {kind}", {
            "kind": kind, "intent": intent, "confidence": 0.9, "decision": kind,
            "reason": reason, "kb_score": 0.5})

    def event(self, ticket: Ticket, when: str, action: str, before: Any = None,
              after: Any = None, actor: User | None = None) -> None:
        self.session.add(TicketEvent(ticket_id=ticket.id, action=action, before=before,
                                     after=after, created_at=at(when),
                                     actor_id=actor.id if actor else None))
        ticket.updated_at = at(when)
        self.session.flush()

    def hand_off(self, name: str, when: str, team: Team, reason: str, intent: str | None,
                 priority: str = "normal") -> Ticket:
        ticket = Ticket(conversation_id=self.conversations[name].id, status="new",
                        priority=priority, reason=reason, detected_intent=intent,
                        subject="help", tags=[], team_id=team.id, created_at=at(when),
                        updated_at=at(when), sla_policy_id=self.policy_id)
        self.session.add(ticket)
        self.conversations[name].status = "human"
        self.session.flush()
        self.event(ticket, when, "created", after={"status": "new", "priority": priority,
                                                   "team_id": team.id, "reason": reason})
        self.tickets[name] = ticket
        return ticket

    def assign(self, name: str, when: str, agent: User) -> None:
        ticket = self.tickets[name]
        self.event(ticket, when, "assignee", before={"assignee_id": None, "status": "new"},
                   after={"assignee_id": agent.id, "status": "open"}, actor=agent)
        ticket.assignee_id, ticket.status = agent.id, "open"
        ticket.claimed_at = ticket.claimed_at or at(when)

    def reply(self, name: str, when: str, agent: User) -> None:
        ticket = self.tickets[name]
        self.message(name, "agent", when, "agent reply", {"agent_name": agent.display_name,
                                                         "ticket_id": ticket.id}, agent)
        ticket.first_response_at = ticket.first_response_at or at(when)
        ticket.last_agent_reply_at = at(when)

    def solve(self, name: str, when: str) -> None:
        ticket = self.tickets[name]
        self.event(ticket, when, "status", before=ticket.status, after="solved")
        ticket.status, ticket.solved_at = "solved", at(when)
        self.conversations[name].status = "resolved"

    def reopen(self, name: str, when: str) -> None:
        ticket = self.tickets[name]
        self.message(name, "customer", when, "it is broken again")
        new = "open" if ticket.assignee_id else "new"
        self.event(ticket, when, "status", before="solved", after=new)
        ticket.status, ticket.solved_at = new, None
        self.conversations[name].status = "human"

    def transfer(self, name: str, when: str, team: Team) -> None:
        ticket = self.tickets[name]
        before = {"team_id": ticket.team_id, "assignee_id": ticket.assignee_id,
                  "status": ticket.status}
        self.event(ticket, when, "status", before=ticket.status, after="new")
        self.event(ticket, when, "transfer", before=before,
                   after={"team_id": team.id, "assignee_id": None, "status": "new"})
        ticket.team_id, ticket.assignee_id, ticket.status = team.id, None, "new"

    def breach(self, name: str, when: str) -> None:
        self.event(self.tickets[name], when, "sla", before={"sla_state": "ok"},
                   after={"sla_state": "breached", "clock": "first_response"})

    def rate(self, name: str, when: str, score: int) -> None:
        ticket = self.tickets[name]
        self.session.add(CsatRating(ticket_id=ticket.id, agent_id=ticket.assignee_id,
                                    team_id=ticket.team_id, score=score, channel="widget",
                                    created_at=at(when)))
        self.session.flush()


@dataclass
class World:
    builder: Builder
    team_a: Team
    team_b: Team
    a1: User
    b1: User

    def cid(self, name: str) -> str:
        return self.builder.conversations[name].id


def build_history(session: Session) -> World:
    n = next(_serial)
    calendar = BusinessCalendar(name=f"berlin-weekdays-{n}", timezone="Europe/Berlin",
                                weekly_hours={d: [["09:00", "17:00"]]
                                              for d in ("mon", "tue", "wed", "thu", "fri")}
                                | {"sat": [], "sun": []},
                                holidays=["2026-11-19"])
    session.add(calendar)
    session.flush()
    team_a = Team(slug=f"support-{n}", name="Support", calendar_id=calendar.id)
    team_b = Team(slug=f"billing-{n}", name="Billing")
    policy = SlaPolicy(priority="normal", first_response_minutes=60, resolution_minutes=480)
    session.add_all([team_a, team_b, policy])
    session.flush()
    a1, b1 = make_user(session, "agent"), make_user(session, "agent")
    b = Builder(session, policy_id=policy.id)

    b.conversation("C1", "widget", "11-16 10:00")
    b.message("C1", "customer", "11-16 10:00", "where is my order")
    b.bot("C1", "11-16 10:00:05", "answer", "order_status")
    session.add(ArticleRating(conversation_id=b.conversations["C1"].id, query="where is my order",
                              helpful=True, created_at=at("11-16 10:01")))

    b.conversation("C2", "rest", "11-20 14:29")
    b.message("C2", "customer", "11-20 14:29", "money back")
    b.bot("C2", "11-20 14:29:05", "clarify", "refund", "uncertain_kb_match")
    b.message("C2", "customer", "11-20 14:30", "I want a refund for my order")
    b.bot("C2", "11-20 14:30:05", "handoff", "refund", "low_kb_score")
    for query, reason in (("money back", "below_threshold"),
                          ("I want a refund for my order", "handed_off")):
        session.add(KnowledgeGap(query=query, reason=reason,
                                 conversation_id=b.conversations["C2"].id,
                                 created_at=at("11-20 14:30")))
    b.hand_off("C2", "11-20 14:31", team_a, "low_kb_score", "refund")
    b.assign("C2", "11-23 08:25", a1)
    b.reply("C2", "11-23 08:30", a1)
    b.breach("C2", "11-23 08:01")
    b.solve("C2", "11-23 08:40")
    b.rate("C2", "11-23 09:00", 4)

    b.conversation("C3", "widget", "11-18 14:59")
    b.message("C3", "customer", "11-18 14:59", "a person please, mail me at jo@example.com")
    b.bot("C3", "11-18 14:59:30", "handoff", "request_human", "customer_request")
    b.hand_off("C3", "11-18 15:00", team_a, "customer_request", "request_human")
    b.assign("C3", "11-18 15:05", a1)
    b.reply("C3", "11-20 09:00", a1)
    b.message("C3", "customer", "11-20 09:10", "still there?")
    b.reply("C3", "11-20 09:40", a1)
    b.solve("C3", "11-20 09:45")
    b.reopen("C3", "11-20 10:00")
    b.reply("C3", "11-20 10:20", a1)
    b.solve("C3", "11-20 10:30")
    b.rate("C3", "11-20 10:35", 5)

    b.conversation("C4", "rest", "11-23 09:59")
    b.message("C4", "customer", "11-23 09:59", "my invoice is wrong")
    b.bot("C4", "11-23 09:59:30", "handoff", "billing_question", "low_nlu_confidence")
    b.hand_off("C4", "11-23 10:00", team_a, "low_nlu_confidence", "billing_question")
    b.assign("C4", "11-23 10:05", a1)
    b.transfer("C4", "11-23 10:30", team_b)
    b.assign("C4", "11-23 10:40", b1)
    b.reply("C4", "11-23 10:45", b1)
    b.solve("C4", "11-23 11:00")

    b.conversation("C5", "widget", "11-23 12:00")
    b.message("C5", "customer", "11-23 12:00", "this is useless!!!")
    b.bot("C5", "11-23 12:00:10", "handoff", "complaint", "frustration")
    b.hand_off("C5", "11-23 12:01", team_b, "frustration", "complaint", priority="high")

    b.conversation("C6", "rest", "11-23 13:00")
    b.message("C6", "customer", "11-23 13:00", "cancel my order")
    b.bot("C6", "11-23 13:00:10", "handoff", "cancel_order", "low_nlu_confidence")
    b.hand_off("C6", "11-23 13:01", team_b, "low_nlu_confidence", "cancel_order")
    b.assign("C6", "11-23 13:05", b1)
    b.solve("C6", "11-23 13:10")

    b.conversation("C7", "widget", "11-30 23:30")
    b.message("C7", "customer", "11-30 23:30", "order status")
    b.bot("C7", "11-30 23:30:05", "answer", "order_status")

    b.conversation("C8", "rest", "11-30 18:45")
    b.message("C8", "customer", "11-30 18:45", "hello?")

    b.conversation("C9", "email", "11-23 14:00")
    b.message("C9", "customer", "11-23 14:00", "Subject: refund")
    b.hand_off("C9", "11-23 14:00", team_b, "email", None)
    b.assign("C9", "11-23 14:10", b1)
    b.reply("C9", "11-23 14:30", b1)
    b.solve("C9", "11-23 14:40")
    session.flush()
    return World(b, team_a, team_b, a1, b1)
