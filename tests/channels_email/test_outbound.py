"""Agent replies by e-mail, end to end through the API, a real SMTP server (aiosmtpd) and
the inbound webhook: threading headers, retry after a temporary refusal, no retry after a
permanent one, and the CSAT link that comes with solving."""

from __future__ import annotations

import re

from sqlalchemy import select

from conversations.models import Conversation, Message
from core.database import session_scope
from handoff.models import CsatRating, EmailMessage, Ticket, TicketEvent
from tests.channels_email.conftest import post_email
from tests.channels_email.mail import raw_email
from tests.core.auth_helpers import bearer
from tests.factories import make_ticket, make_user


def _header(mail, name):
    """A header's value; a long id may be folded onto a line of its own, and the parser
    keeps the folding space."""
    value = mail.message[name]
    return value.strip() if value is not None else None


def _agent_headers():
    with session_scope() as s:
        return bearer(s, make_user(s, role="agent"))


def _reply(client, headers, ticket_id, text, **extra):
    response = client.post(f"/api/v1/agent/tickets/{ticket_id}/messages", headers=headers,
                           json={"text": text, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_agent_reply_is_mailed_with_threading_headers_and_the_answer_threads_back(
        client, smtp):
    raw, customer_id = raw_email()
    ticket_id = post_email(client, raw)["ticket_id"]
    [ack] = smtp.messages
    headers = _agent_headers()

    message = _reply(client, headers, ticket_id, "Sorry about that! Which model is it?")

    [_, mail] = smtp.messages
    assert mail.recipients == ["ann@example.com"]
    assert mail.message["To"] == "Ann Customer <ann@example.com>"
    assert mail.message["Subject"] == f"Re: [#{ticket_id}] Broken kettle"
    assert mail.message["From"] == "Tandem Support <support@tandem.localhost>"
    assert _header(mail, "Message-ID").endswith("@tandem.localhost>")
    assert _header(mail, "In-Reply-To") == _header(ack, "Message-ID")  # the last e-mail
    assert _header(mail, "References").split() == [customer_id, _header(ack, "Message-ID")]
    assert mail.message["Auto-Submitted"] is None
    assert mail.message.get_content().startswith("Sorry about that! Which model is it?")
    with session_scope() as s:
        record = s.scalar(select(EmailMessage).where(
            EmailMessage.message_id == _header(mail, "Message-ID")))
        assert (record.direction, record.ticket_id, record.chat_message_id) == (
            "outbound", ticket_id, message["id"])

    # The customer answers the agent's e-mail: it lands on the same ticket.
    answer, _ = raw_email(subject=f"Re: [#{ticket_id}] Broken kettle", body="Model K-2.",
                          in_reply_to=_header(mail, "Message-ID"),
                          references=f"{customer_id} {_header(mail, 'Message-ID')}")
    assert post_email(client, answer)["ticket_id"] == ticket_id


def test_a_temporary_refusal_is_retried_with_the_same_message_id(client, smtp):
    ticket_id = post_email(client, raw_email()[0])["ticket_id"]
    smtp.data_replies = ["451 4.3.0 try again later"]
    _reply(client, _agent_headers(), ticket_id, "We are on it.")
    assert smtp.attempts == 3  # acknowledgement, refused reply, retried reply
    [_, mail] = smtp.messages
    assert mail.message.get_content().startswith("We are on it.")
    with session_scope() as s:
        outbound = s.scalars(select(EmailMessage.message_id).where(
            EmailMessage.direction == "outbound")).all()
    assert _header(mail, "Message-ID") in outbound and len(outbound) == 2


def test_a_refused_recipient_is_not_retried_and_the_reply_stays_in_the_transcript(
        client, smtp):
    ticket_id = post_email(client, raw_email()[0])["ticket_id"]
    smtp.refuse_recipients = True
    message = _reply(client, _agent_headers(), ticket_id, "Here is your answer.")
    assert len(smtp.messages) == 1  # only the acknowledgement, sent before
    with session_scope() as s:
        assert s.get(Message, message["id"]).body == "Here is your answer."


def test_a_chat_ticket_is_not_answered_by_email(client, smtp):
    with session_scope() as s:
        ticket = make_ticket(s)
        ticket.reply_by_email = False  # the customer is in the widget
        s.get(Conversation, ticket.conversation_id).customer_email = "bo@example.com"
        ticket_id = ticket.id
    _reply(client, _agent_headers(), ticket_id, "Hello from the chat")
    assert smtp.messages == []


def test_solving_mails_a_rating_link_that_records_the_rating(client, smtp):
    ticket_id = post_email(client, raw_email()[0])["ticket_id"]
    headers = _agent_headers()
    _reply(client, headers, ticket_id, "A new kettle is on its way.")
    response = client.post(f"/api/v1/agent/tickets/{ticket_id}/solve", headers=headers)
    assert response.status_code == 200, response.text

    mail = smtp.messages[-1]
    body = mail.message.get_content()
    assert mail.message["Subject"] == f"Re: [#{ticket_id}] Broken kettle"
    assert body.startswith("How did we do? Rate this conversation from 1 to 5.")
    link = re.search(r"http://\S+/csat/(\S+)", body)
    assert link is not None
    token = link.group(1)

    page = client.get(f"/csat/{token}")
    assert page.status_code == 200
    assert page.text.count('name="score"') == 5 and "Broken kettle" in page.text
    done = client.post(f"/csat/{token}", data={"score": "4", "comment": "Quick, thanks"})
    assert done.status_code == 200 and "Thank you" in done.text

    with session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        rating = s.scalar(select(CsatRating).where(CsatRating.ticket_id == ticket_id))
        assert (rating.score, rating.comment, rating.channel) == (4, "Quick, thanks", "email")
        assert rating.agent_id == ticket.assignee_id is not None
        assert s.scalar(select(TicketEvent.after).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.action == "csat")) == {
            "score": 4, "comment": "Quick, thanks", "channel": "email"}


def test_a_forged_or_bad_rating_link_shows_an_error_page(client, smtp):
    ticket_id = post_email(client, raw_email()[0])["ticket_id"]
    forged = client.get(f"/csat/{ticket_id}.9999999999.forged")
    assert forged.status_code == 403 and "not valid" in forged.text
    # A real link for a ticket that is not solved yet: the form answers with the conflict.
    from handoff.csat import rating_token

    refused = client.post(f"/csat/{rating_token(ticket_id)}", data={"score": "5"})
    assert refused.status_code == 409 and "only solved tickets are rated" in refused.text
    bad_score = client.post(f"/csat/{rating_token(ticket_id)}", data={"score": "9"})
    assert bad_score.status_code == 422


def test_an_offline_chat_hand_off_is_answered_by_email(client, smtp):
    with session_scope() as s:
        ticket = make_ticket(s, text="Can I return an opened blender?")  # nobody online
        assert ticket.reply_by_email
        s.get(Conversation, ticket.conversation_id).customer_email = "cy@example.com"
        ticket_id = ticket.id
    _reply(client, _agent_headers(), ticket_id, "Yes, within 30 days.")
    [mail] = smtp.messages
    assert mail.recipients == ["cy@example.com"]
    # The first e-mail of the ticket starts the thread.
    assert mail.message["Subject"] == f"[#{ticket_id}] Can I return an opened blender?"
    assert mail.message["In-Reply-To"] is None and mail.message["References"] is None


def test_a_ticket_an_agent_opens_mails_their_message_without_an_acknowledgement(client, smtp):
    response = client.post("/api/v1/agent/tickets", headers=_agent_headers(), json={
        "customer_email": "dee@example.com", "customer_name": "Dee",
        "subject": "Your callback", "text": "As promised on the phone: the refund is done."})
    assert response.status_code == 201, response.text
    ticket_id = response.json()["id"]
    [mail] = smtp.messages
    assert mail.message["Subject"] == f"[#{ticket_id}] Your callback"
    assert mail.message.get_content().startswith("As promised on the phone")

    answer, _ = raw_email(sender="Dee <dee@example.com>", subject="Re: Your callback",
                          in_reply_to=_header(mail, "Message-ID"), body="Thank you!")
    assert post_email(client, answer)["ticket_id"] == ticket_id
