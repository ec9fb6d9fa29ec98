"""CSAT on both database backends: asking, signed links, rating rules, the customer
endpoint and the summary for reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from conversations import service as conversations
from conversations.models import Conversation, Message
from core import events
from core.database import session_scope, utcnow
from core.errors import Conflict, PermissionDenied, ValidationFailed
from handoff import csat, intake
from handoff.models import CsatRating, Ticket, TicketEvent
from tests.api_helpers import api_client
from tests.core.auth_helpers import make_team
from tests.factories import make_ticket, make_user


def _solved_ticket(session, *, team=None) -> Ticket:
    ticket = make_ticket(session)
    agent = make_user(session)
    ticket.assignee_id, ticket.team_id = agent.id, team.id if team else None
    ticket.status, ticket.solved_at = "solved", utcnow()
    session.flush()
    return ticket


def test_request_rating_asks_in_the_conversation(session):
    ticket = _solved_ticket(session)
    csat.request_rating(session, ticket)
    last = session.scalars(select(Message).where(Message.conversation_id ==
                                                 ticket.conversation_id)
                           .order_by(Message.id.desc())).first()
    assert (last.sender_type, last.body) == (
        "system", "How did we do? Rate this conversation from 1 to 5.")
    assert last.meta == {"kind": "csat_request", "ticket_id": ticket.id}


def test_an_email_customer_also_gets_the_link_event(session):
    seen = []

    def listener(_session, name, payload):
        seen.append((name, payload))

    events.listen("ticket.csat_requested", listener)
    try:
        ticket = _solved_ticket(session)
        csat.request_rating(session, ticket)  # a chat customer without an address: no mail
        assert seen == []
        ticket.reply_by_email = True
        session.get(Conversation, ticket.conversation_id).customer_email = "ann@example.com"
        csat.request_rating(session, ticket)
    finally:  # core.events has no unlisten: listeners live as long as the process
        events._listeners["ticket.csat_requested"].remove(listener)
    [(name, payload)] = seen
    assert name == "ticket.csat_requested" and payload["ticket_id"] == ticket.id
    assert session.get(Message, payload["message_id"]).meta["kind"] == "csat_request"


def test_rating_links_are_signed_and_expire(db_url):
    token = csat.rating_token(42)
    assert csat.ticket_id_from_token(token) == 42
    ticket_id, expires, signature = token.split(".")
    with pytest.raises(PermissionDenied, match="not valid"):
        csat.ticket_id_from_token(f"43.{expires}.{signature}")  # another ticket
    with pytest.raises(PermissionDenied, match="not valid"):
        csat.ticket_id_from_token(f"{ticket_id}.{int(expires) + 999}.{signature}")
    with pytest.raises(PermissionDenied, match="not valid"):
        csat.ticket_id_from_token("garbage")
    with pytest.raises(PermissionDenied, match="expired"):
        csat.ticket_id_from_token(token, now=utcnow() + timedelta(days=15))
    assert csat.rating_link(42).endswith(f"/csat/{token}")


def test_rate_stores_the_rating_with_agent_and_team_and_records_history(session):
    team = make_team(session, "care")
    ticket = _solved_ticket(session, team=team)
    rating = csat.rate(session, ticket, 5, "  Lovely  ", "widget")
    assert (rating.score, rating.comment, rating.channel) == (5, "Lovely", "widget")
    assert (rating.agent_id, rating.team_id) == (ticket.assignee_id, team.id)
    event = session.scalar(select(TicketEvent).where(TicketEvent.action == "csat"))
    assert (event.before, event.after) == (None, {"score": 5, "comment": "Lovely",
                                                  "channel": "widget"})


def test_a_second_rating_replaces_the_first_within_a_week_then_is_refused(session):
    ticket = _solved_ticket(session)
    csat.rate(session, ticket, 2, "slow", "widget")
    csat.rate(session, ticket, 4, None, "email")
    assert session.scalar(select(CsatRating.score)) == 4
    assert session.query(CsatRating).count() == 1
    befores = [e.before for e in session.scalars(
        select(TicketEvent).where(TicketEvent.action == "csat").order_by(TicketEvent.id))]
    assert befores == [None, {"score": 2, "comment": "slow"}]
    session.scalar(select(CsatRating)).created_at = utcnow() - timedelta(days=8)
    with pytest.raises(Conflict):
        csat.rate(session, ticket, 1, None, "widget")


@pytest.mark.parametrize(("score", "comment", "field"), [
    (0, None, "score"), (6, None, "score"), ("5", None, "score"), (True, None, "score"),
    (3, "x" * 2001, "comment"),
])
def test_invalid_ratings_name_the_field(session, score, comment, field):
    ticket = _solved_ticket(session)
    with pytest.raises(ValidationFailed) as caught:
        csat.rate(session, ticket, score, comment, "widget")
    assert caught.value.field == field


def test_only_solved_or_closed_tickets_are_rated(session):
    ticket = make_ticket(session)
    with pytest.raises(Conflict, match="only solved tickets"):
        csat.rate(session, ticket, 5, None, "widget")
    ticket.status = "closed"
    assert csat.rate(session, ticket, 5, None, "widget").score == 5


def test_summary_counts_averages_and_filters(session):
    red, blue = make_team(session, "red"), make_team(session, "blue")
    for team, score in ((red, 5), (red, 4), (blue, 1)):
        csat.rate(session, _solved_ticket(session, team=team), score, None, "widget")
    everything = csat.csat_summary(session)
    assert everything == {"count": 3, "average": 3.33,
                          "distribution": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}}
    assert csat.csat_summary(session, team_id=red.id)["average"] == 4.5
    assert csat.csat_summary(session, since=utcnow() + timedelta(minutes=1)) == {
        "count": 0, "average": None,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    agent = session.scalar(select(CsatRating.agent_id).where(CsatRating.score == 1))
    assert csat.csat_summary(session, agent_id=agent)["count"] == 1


def test_the_customer_rates_from_the_widget_with_the_conversation_token(db_url):
    with api_client() as client:
        response = client.post("/api/v1/conversations", json={"channel": "widget"})
        cid, token = response.json()["id"], response.json()["token"]
        headers = {"X-Conversation-Token": token}
        url = f"/api/v1/conversations/{cid}/csat"
        with session_scope() as s:
            conversation = s.get(Conversation, cid)
            conversations.add_customer_message(s, conversation, "help", None)
            ticket = intake.hand_off(s, conversation,
                                      intake.HandoffSignal(reason="customer_request"))
            ticket_id = ticket.id

        early = client.post(url, headers=headers, json={"score": 5})
        assert early.status_code == 409  # nothing solved yet
        with session_scope() as s:
            ticket = s.get(Ticket, ticket_id)
            ticket.status, ticket.assignee_id = "solved", make_user(s).id

        assert client.post(url, json={"score": 5}).status_code == 403  # no token
        assert client.post(url, headers={"X-Conversation-Token": "nope"},
                           json={"score": 5}).status_code == 403
        bad = client.post(url, headers=headers, json={"score": 9})
        assert (bad.status_code, bad.json()["field"]) == (422, "score")

        done = client.post(url, headers=headers, json={"score": 4, "comment": "Nice"})
        assert done.status_code == 201, done.text
        assert done.json()["ticket_id"] == ticket_id
        assert (done.json()["score"], done.json()["channel"]) == (4, "widget")
