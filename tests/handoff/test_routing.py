"""Routing and assignment: the routing map, round-robin, least-busy, capacity, presence,
queue position. Services on both database backends."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conversations.models import Conversation, Message
from core.database import session_scope, utcnow
from core.errors import ValidationFailed
from handoff import customers, intake, lifecycle, routing
from handoff import queue as ticket_queue
from handoff.models import (
    AssignmentPolicy,
    BusinessCalendar,
    Priority,
    Team,
    TeamMember,
    Ticket,
    TicketStatus,
)
from tests.core.auth_helpers import make_team
from tests.factories import make_conversation, make_ticket, make_user, principal_of

S = TicketStatus


def _team_with_agents(session, policy, n=3, capacity=2, slug="support"):
    team = make_team(session, slug)
    team.assignment_policy = policy
    agents = []
    for _ in range(n):
        user = make_user(session)
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        session.flush()
        routing.set_presence(session, user.id, status="online", capacity=capacity)
        agents.append(user)
    routing.save_rule(session, match_field="intent", match_value="request_human",
                      team_id=team.id, priority=None)
    return team, agents


def test_routing_map_prefers_intent_over_category_over_reason(session):
    orders, billing, general = (make_team(session, s) for s in ("orders", "billing", "general"))
    routing.save_rule(session, match_field="intent", match_value="order_status",
                      team_id=orders.id, priority="high")
    routing.save_rule(session, match_field="category", match_value="billing",
                      team_id=billing.id, priority=None)
    routing.save_rule(session, match_field="reason", match_value="bot_unavailable",
                      team_id=general.id, priority=None)
    route = routing.route_for(session, intent="order_status", category="billing",
                              reason="bot_unavailable")
    assert route == routing.Route(orders.id, "high")
    assert routing.route_for(session, intent="greet", category="billing",
                             reason="bot_unavailable").team_id == billing.id
    assert routing.route_for(session, intent="greet", category=None,
                             reason="bot_unavailable").team_id == general.id
    assert routing.route_for(session, intent="greet", category=None, reason="x").team_id is None
    conversation, _ = make_conversation(session)
    ticket = intake.hand_off(session, conversation, intake.HandoffSignal(
        reason="low_nlu_confidence", intent="order_status", confidence=0.3))
    assert ticket.team_id == orders.id and ticket.priority == Priority.HIGH
    with pytest.raises(ValidationFailed) as bad:
        routing.save_rule(session, match_field="mood", match_value="x", team_id=orders.id,
                          priority=None)
    assert bad.value.field == "match_field"


def test_round_robin_takes_turns_among_online_agents(session):
    _team, agents = _team_with_agents(session, AssignmentPolicy.ROUND_ROBIN, n=3, capacity=5)
    tickets = [make_ticket(session) for _ in range(4)]
    assert [t.assignee_id for t in tickets] == [agents[0].id, agents[1].id, agents[2].id,
                                                agents[0].id]
    assert all(t.status == S.OPEN for t in tickets)


def test_least_busy_picks_the_agent_with_fewest_open_chats(session):
    _team, agents = _team_with_agents(session, AssignmentPolicy.LEAST_BUSY, n=2, capacity=5)
    first = make_ticket(session)
    second = make_ticket(session)
    assert {first.assignee_id, second.assignee_id} == {agents[0].id, agents[1].id}
    # The first agent solves theirs: they now have fewer open chats and get the next one.
    lifecycle.solve(session, first.id, principal_of(session.get(type(agents[0]),
                                                              first.assignee_id)))
    third = make_ticket(session)
    assert third.assignee_id == first.assignee_id


def test_capacity_keeps_extra_tickets_waiting_until_a_slot_frees(session):
    _team, agents = _team_with_agents(session, AssignmentPolicy.LEAST_BUSY, n=1, capacity=2)
    tickets = [make_ticket(session) for _ in range(3)]
    assert [t.status for t in tickets] == [S.OPEN, S.OPEN, S.NEW]
    assert tickets[2].assignee_id is None
    lifecycle.solve(session, tickets[0].id, principal_of(agents[0]))
    assert tickets[2].assignee_id == agents[0].id and tickets[2].status == S.OPEN
    # Pending tickets do not count as open chats: the agent has room again.
    lifecycle.set_status(session, tickets[1].id, principal_of(agents[0]), S.PENDING)
    assert routing.loads(session, [agents[0].id]) == {agents[0].id: 1}


def test_going_offline_returns_chats_to_the_queue_and_online_pulls_them(session):
    _team, (alex, bea) = _team_with_agents(session, AssignmentPolicy.ROUND_ROBIN, n=2,
                                           capacity=5)
    routing.set_presence(session, bea.id, status="away")  # keeps chats, gets no new ones
    tickets = [make_ticket(session) for _ in range(2)]
    assert {t.assignee_id for t in tickets} == {alex.id}
    routing.set_presence(session, alex.id, status="offline")
    assert all(t.status == S.NEW and t.assignee_id is None for t in tickets)
    routing.set_presence(session, bea.id, status="online")
    assert all(t.assignee_id == bea.id and t.status == S.OPEN for t in tickets)
    with pytest.raises(ValidationFailed) as bad:
        routing.set_presence(session, bea.id, status="busy")
    assert bad.value.field == "status"


def test_manual_teams_wait_for_a_claim(session):
    _team, _agents = _team_with_agents(session, AssignmentPolicy.MANUAL, n=2)
    ticket = make_ticket(session)
    assert ticket.status == S.NEW and ticket.assignee_id is None
    conversation = session.get(Conversation, ticket.conversation_id)
    notices = session.scalars(select(Message.meta).where(
        Message.conversation_id == conversation.id, Message.sender_type == "system")).all()
    assert {"kind": "queued", "ticket_id": ticket.id} in notices


def test_queue_position_and_estimated_wait(session):
    _team, _agents = _team_with_agents(session, AssignmentPolicy.MANUAL, n=2)
    tickets = [make_ticket(session) for _ in range(3)]
    positions = [ticket_queue.queue_status(session, session.get(Conversation, t.conversation_id))
                 for t in tickets]
    assert [p["position"] for p in positions] == [1, 2, 3]
    # Default 180 s per place, shared by the 2 online agents.
    assert [p["eta_seconds"] for p in positions] == [90, 180, 270]
    assert positions[0]["agents_online"] == 2 and positions[0]["open_now"] is True
    # An urgent ticket goes to the front.
    urgent = make_ticket(session, reason="bot_unavailable")
    urgent.priority = Priority.URGENT
    session.flush()
    status = ticket_queue.queue_status(session, session.get(Conversation, urgent.conversation_id))
    assert status["position"] == 1
    assert ticket_queue.queue_status(session, session.get(
        Conversation, tickets[2].conversation_id))["position"] == 4
    # Measured waits replace the default once agents have claimed chats.
    tickets[0].claimed_at = tickets[0].created_at + timedelta(seconds=60)
    tickets[0].status = S.OPEN
    session.flush()
    later = ticket_queue.queue_status(session,
                                      session.get(Conversation, tickets[1].conversation_id))
    assert later["position"] == 2 and later["eta_seconds"] == 60


def test_outside_business_hours_the_customer_is_told_when_we_reply_by_email(session):
    today = utcnow().date()
    calendar = BusinessCalendar(name="Office", timezone="UTC", always_open=False,
                                weekly_hours={d: [["09:00", "17:00"]] for d in
                                              ("mon", "tue", "wed", "thu", "fri", "sat",
                                               "sun")},
                                holidays=[today.isoformat()])
    session.add(calendar)
    session.flush()
    team, _agents = _team_with_agents(session, AssignmentPolicy.ROUND_ROBIN, n=1)
    team.calendar_id = calendar.id
    session.flush()
    # Closed today (a holiday): even with an agent online, nothing is assigned and the
    # customer hears when the reply will come.
    ticket = make_ticket(session)
    assert ticket.reply_by_email and ticket.status == S.NEW and ticket.assignee_id is None
    away = session.scalars(select(Message).where(
        Message.conversation_id == ticket.conversation_id,
        Message.sender_type == "system")).all()[-1]
    assert away.meta["kind"] == "away" and away.meta["email_known"] is False
    tomorrow_nine = (today + timedelta(days=1)).isoformat() + "T09:00:00+00:00"
    assert away.meta["next_open_at"] == tomorrow_nine
    assert "e-mail" in away.body
    status = ticket_queue.queue_status(session, session.get(Conversation, ticket.conversation_id))
    assert status["open_now"] is False and status["next_open_at"] == tomorrow_nine
    conversation = session.get(Conversation, ticket.conversation_id)
    customers.set_contact(session, conversation, email="kim@example.test", name="Kim")
    assert conversation.customer_email == "kim@example.test"
    with pytest.raises(ValidationFailed) as bad:
        customers.set_contact(session, conversation, email="not an address", name=None)
    assert bad.value.field == "email"


def test_concurrent_hand_offs_never_exceed_an_agents_capacity(db_url):
    with session_scope() as s:
        team, (agent,) = _team_with_agents(s, AssignmentPolicy.LEAST_BUSY, n=1, capacity=2)
        team_id, agent_id = team.id, agent.id
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def hand_off_one() -> None:
        try:
            barrier.wait()
            with session_scope() as s:
                make_ticket(s)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=hand_off_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 6
        assert s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.assignee_id == agent_id, Ticket.status == S.OPEN)) == 2
        assert s.get(Team, team_id).last_assigned_user_id == agent_id
