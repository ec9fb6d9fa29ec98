"""The ticket life cycle: allowed transitions, reopening, fields, history, notes, transfer,
merge. Services on both database backends."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from conversations import service as conversations
from conversations.models import Conversation, ConversationStatus, Message
from core.database import utcnow
from core.errors import Conflict, PermissionDenied, ValidationFailed
from handoff import fields, history, intake, lifecycle, lookup, merge, notes, visibility, watchers
from handoff import queue as ticket_queue
from handoff.models import Priority, TicketNote, TicketStatus, TicketWatcher
from tests.core.auth_helpers import make_team
from tests.factories import make_ticket, make_user, principal_of

S = TicketStatus


@pytest.fixture
def agent(session):
    return principal_of(make_user(session))


def _actions(session, ticket):
    return [(e["action"], e["before"], e["after"]) for e in history.history_of(session, ticket.id)]


def test_every_status_move_is_checked_against_the_transition_table(session, agent):
    ticket = make_ticket(session)
    lifecycle.claim(session, ticket.id, agent)
    for status in (S.PENDING, S.ON_HOLD, S.OPEN, S.SOLVED, S.CLOSED):
        lifecycle.set_status(session, ticket.id, agent, status)
        assert ticket.status == status
    # Closed is final: nothing leaves it.
    for status in (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED):
        with pytest.raises(Conflict):
            lifecycle.set_status(session, ticket.id, agent, status)
    moves = [(b, a) for action, b, a in _actions(session, ticket) if action == "status"]
    assert moves == [("open", "pending"), ("pending", "on_hold"), ("on_hold", "open"),
                     ("open", "solved"), ("solved", "closed")]


def test_forbidden_transition_names_both_states(session, agent):
    ticket = make_ticket(session)
    lifecycle.claim(session, ticket.id, agent)
    lifecycle.set_status(session, ticket.id, agent, S.PENDING)
    with pytest.raises(Conflict) as raised:
        lifecycle.set_status(session, ticket.id, agent, S.NEW)
    assert "pending" in raised.value.message and "new" in raised.value.message
    with pytest.raises(ValidationFailed) as bad:
        lifecycle.set_status(session, ticket.id, agent, "archived")
    assert bad.value.field == "status"


def test_only_the_assignee_works_a_ticket(session, agent):
    ticket = make_ticket(session)
    lifecycle.claim(session, ticket.id, agent)
    other = principal_of(make_user(session))
    with pytest.raises(PermissionDenied):
        lifecycle.set_status(session, ticket.id, other, S.PENDING)
    with pytest.raises(PermissionDenied):
        lifecycle.solve(session, ticket.id, other)
    supervisor = principal_of(make_user(session, role="supervisor"))
    lifecycle.solve(session, ticket.id, supervisor)  # tickets.assign may step in
    assert ticket.status == S.SOLVED


def test_customer_reply_wakes_pending_and_reopens_solved_within_the_window(session, agent):
    ticket = make_ticket(session)
    conversation = session.get(Conversation, ticket.conversation_id)
    lifecycle.reply(session, ticket.id, agent, "Could you send a photo?", status_after=S.PENDING)
    assert ticket.status == S.PENDING
    conversations.add_customer_message(session, conversation, "Here it is", None)
    lifecycle.customer_wrote(session, conversation)
    assert ticket.status == S.OPEN

    lifecycle.solve(session, ticket.id, agent)
    assert conversation.status == ConversationStatus.RESOLVED
    conversations.add_customer_message(session, conversation, "It broke again", None)
    assert lifecycle.customer_wrote(session, conversation) is ticket
    assert ticket.status == S.OPEN and ticket.solved_at is None
    assert conversation.status == ConversationStatus.HUMAN
    assert ("status", "solved", "open") in _actions(session, ticket)


def test_a_reply_after_the_reopen_window_goes_back_to_the_bot(session, agent):
    ticket = make_ticket(session)
    conversation = session.get(Conversation, ticket.conversation_id)
    lifecycle.solve(session, ticket.id, agent)
    ticket.solved_at = utcnow() - timedelta(hours=73)  # window: 72 h by default
    conversations.add_customer_message(session, conversation, "New question", None)
    assert lifecycle.customer_wrote(session, conversation) is None
    assert ticket.status == S.SOLVED
    assert conversation.status == ConversationStatus.BOT
    assert lifecycle.close_solved(session) == 1
    assert ticket.status == S.CLOSED and ticket.closed_at is not None


def test_fields_changes_are_kept_in_history_with_before_and_after(session, agent):
    ticket = make_ticket(session)
    lifecycle.claim(session, ticket.id, agent)
    fields.update_fields(session, ticket.id, agent, priority=Priority.URGENT,
                          category="billing", tags=["Refund", "vip", "refund"])
    assert ticket.priority == Priority.URGENT
    assert ticket.category == "billing" and ticket.tags == ["refund", "vip"]
    actions = _actions(session, ticket)
    assert ("priority", "normal", "urgent") in actions
    assert ("category", None, "billing") in actions
    assert ("tags", [], ["refund", "vip"]) in actions
    events = history.history_of(session, ticket.id)
    assert all(e["created_at"] for e in events)
    assert {e["actor_id"] for e in events if e["action"] == "priority"} == {agent.user_id}
    with pytest.raises(ValidationFailed) as bad:
        fields.update_fields(session, ticket.id, agent, priority="asap")
    assert bad.value.field == "priority"
    with pytest.raises(ValidationFailed) as bad_tag:
        fields.update_fields(session, ticket.id, agent, tags=["two words"])
    assert bad_tag.value.field == "tags"
    assert ticket.priority == Priority.URGENT  # a refused change loses nothing stored


def test_notes_live_apart_from_the_customer_transcript(session, agent):
    ticket = make_ticket(session)
    lifecycle.claim(session, ticket.id, agent)
    notes.add_note(session, ticket.id, agent, "Customer sounds upset; refund approved")
    transcript = conversations.transcript(session, ticket.conversation_id)
    assert all("refund approved" not in m.body for m in transcript)
    assert [n.text for n in notes.notes_of(session, ticket.id)] == [
        "Customer sounds upset; refund approved"]
    assert session.scalar(select(TicketNote.author_id)) == agent.user_id


def test_transfer_moves_the_ticket_to_the_other_teams_queue_with_a_note(session, agent):
    billing = make_team(session, "billing")
    ticket = make_ticket(session)
    lifecycle.claim(session, ticket.id, agent)
    lifecycle.transfer(session, ticket.id, agent, team_id=billing.id, note="Refund question")
    assert ticket.team_id == billing.id
    assert ticket.assignee_id is None and ticket.status == S.NEW
    assert "Transferred: Refund question" in [n.text for n in notes.notes_of(session,
                                                                                 ticket.id)]
    transfer = next(e for e in history.history_of(session, ticket.id)
                    if e["action"] == "transfer")
    assert transfer["before"]["assignee_id"] == agent.user_id
    assert transfer["after"]["team_id"] == billing.id and transfer["note"] == "Refund question"
    # The agent is not in billing: the ticket has left their sight.
    assert not visibility.can_see(session, ticket, agent)
    admin = principal_of(make_user(session, role="admin"))
    with pytest.raises(ValidationFailed) as empty:
        lifecycle.transfer(session, ticket.id, admin, team_id=make_team(session, "x").id, note=" ")
    assert empty.value.field == "note"


def test_merge_closes_the_duplicate_and_routes_its_customer_to_the_target(session, agent):
    target = make_ticket(session, text="My parcel is late")
    duplicate = make_ticket(session, text="Where is my parcel?")
    lifecycle.claim(session, target.id, agent)
    fields.update_fields(session, duplicate.id, agent, tags=["parcel"])
    merged = merge.merge(session, duplicate.id, agent, into_ticket_id=target.id)
    assert merged is target
    assert duplicate.status == S.CLOSED and duplicate.merged_into_id == target.id
    assert target.tags == ["parcel"]
    assert any(e["action"] == "merged_in" for e in history.history_of(session, target.id))
    # The duplicate's customer writes again: the target wakes, not a new ticket.
    conversation = session.get(Conversation, duplicate.conversation_id)
    assert lookup.open_ticket_for(session, conversation.id) is target
    assert [t.id for t in ticket_queue.list_queue(session, view="all")] == [target.id]
    with pytest.raises(ValidationFailed):
        merge.merge(session, target.id, agent, into_ticket_id=target.id)
    with pytest.raises(Conflict):
        merge.merge(session, duplicate.id, agent, into_ticket_id=target.id)


def test_agent_opens_a_ticket_by_hand_and_it_is_answered_by_email(session, agent):
    ticket = intake.open_ticket_by_agent(
        session, agent, customer_email="pat@example.test", customer_name="Pat",
        subject="Called about a refund", text="Hi Pat, as promised on the phone...",
        priority=Priority.HIGH, tags=["phone"])
    assert ticket.status == S.OPEN and ticket.assignee_id == agent.user_id
    assert ticket.reply_by_email and ticket.first_response_at is not None
    conversation = session.get(Conversation, ticket.conversation_id)
    assert conversation.channel == "email" and conversation.customer_email == "pat@example.test"
    bodies = session.scalars(select(Message.body).where(
        Message.conversation_id == conversation.id)).all()
    assert bodies == ["Hi Pat, as promised on the phone..."]
    with pytest.raises(ValidationFailed) as bad:
        intake.open_ticket_by_agent(session, agent, customer_email="nobody", customer_name=None,
                                     subject="x", text="y")
    assert bad.value.field == "customer_email"


def test_watchers_see_tickets_of_other_teams(session, agent):
    red = make_team(session, "red")
    ticket = make_ticket(session)
    ticket.team_id = red.id
    session.flush()
    admin = principal_of(make_user(session, role="admin"))
    assert not visibility.can_see(session, ticket, agent)
    watchers.watch(session, ticket.id, admin, on=True)
    assert watchers.watcher_ids(session, ticket.id) == [admin.user_id]
    session.add(TicketWatcher(ticket_id=ticket.id, user_id=agent.user_id))
    session.flush()
    assert visibility.can_see(session, ticket, agent)
