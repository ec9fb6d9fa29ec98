"""The agent queue on both database backends."""

import threading

import pytest

from conversations.models import Conversation, ConversationStatus
from core.auth.permissions import permissions_for
from core.auth.service import Principal
from core.database import session_scope
from core.errors import Conflict, PermissionDenied
from handoff import intake, lifecycle
from handoff import queue as ticket_queue
from handoff.models import Priority, Ticket, TicketStatus
from tests.factories import make_ticket, make_user


def _principal(user) -> Principal:
    return Principal(user.id, user.email, user.display_name, user.role,
                     permissions_for(user.role))


def test_hand_off_creates_one_ticket_and_silences_the_bot(session):
    ticket = make_ticket(session, reason="bot_unavailable")
    conversation = session.get(Conversation, ticket.conversation_id)
    assert conversation.status == ConversationStatus.HUMAN
    assert ticket.priority == Priority.HIGH
    assert ticket.detected_intent == "request_human"
    again = intake.hand_off(session, conversation, intake.HandoffSignal(reason="low_kb_score"))
    assert again.id == ticket.id
    assert session.query(Ticket).count() == 1


def test_queue_orders_by_priority_then_age(session):
    normal = make_ticket(session, reason="customer_request")
    high = make_ticket(session, reason="bot_unavailable")
    assert [t.id for t in ticket_queue.list_queue(session)] == [high.id, normal.id]


def test_claim_race_has_exactly_one_winner(db_url):
    with session_scope() as s:
        ticket_id = make_ticket(s).id
        agents = [_principal(make_user(s)) for _ in range(6)]
    barrier = threading.Barrier(len(agents))
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(agent):
        barrier.wait()
        try:
            with session_scope() as s:
                lifecycle.claim(s, ticket_id, agent)
            result = "won"
        except Conflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
    with session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.OPEN
        assert ticket.assignee_id in {a.user_id for a in agents}


def test_only_the_assignee_replies_unless_allowed_to_assign(session):
    ticket = make_ticket(session)
    alice, bob = _principal(make_user(session)), _principal(make_user(session))
    supervisor = _principal(make_user(session, role="supervisor"))
    lifecycle.claim(session, ticket.id, alice)
    with pytest.raises(PermissionDenied):
        lifecycle.reply(session, ticket.id, bob, "hello")
    message = lifecycle.reply(session, ticket.id, alice, "Hi, I'm on it")
    assert message.sender_user_id == alice.user_id
    lifecycle.reply(session, ticket.id, supervisor, "Supervisor here")
    assert ticket.first_response_at is not None


def test_solve_resolves_the_conversation_and_only_a_closed_ticket_refuses_replies(session):
    ticket = make_ticket(session)
    agent = _principal(make_user(session))
    lifecycle.claim(session, ticket.id, agent)
    lifecycle.solve(session, ticket.id, agent)
    assert ticket.status == TicketStatus.SOLVED
    assert session.get(Conversation, ticket.conversation_id).status == "resolved"
    with pytest.raises(Conflict):
        lifecycle.solve(session, ticket.id, agent)
    # An agent's follow-up on a solved ticket reopens it; a closed ticket is final.
    lifecycle.reply(session, ticket.id, agent, "one more thing")
    assert ticket.status == TicketStatus.OPEN
    lifecycle.solve(session, ticket.id, agent)
    lifecycle.set_status(session, ticket.id, agent, TicketStatus.CLOSED)
    with pytest.raises(Conflict):
        lifecycle.reply(session, ticket.id, agent, "too late")
