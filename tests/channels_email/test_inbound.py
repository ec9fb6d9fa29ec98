"""Customer e-mail in through the webhook, on both database backends: new tickets,
threading by In-Reply-To / References / subject tag, duplicates, reopening, and refusals."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.channels.email import inbound
from conversations.models import Conversation, Message
from core.auth.permissions import permissions_for
from core.auth.service import Principal
from core.database import session_scope, utcnow
from handoff import merge
from handoff.models import EmailMessage, Ticket
from tests.channels_email.conftest import post_email
from tests.channels_email.mail import raw_email, settings_env
from tests.factories import make_user


def _ticket(ticket_id):
    with session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        s.expunge(ticket)
        return ticket


def _customer_texts(conversation_id):
    with session_scope() as s:
        return list(s.scalars(select(Message.body).where(
            Message.conversation_id == conversation_id, Message.sender_type == "customer")
            .order_by(Message.id)))


def _count(model):
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_new_email_opens_an_email_ticket_and_is_acknowledged(client, smtp):
    raw, message_id = raw_email()
    answer = post_email(client, raw)
    assert answer["duplicate"] is False

    ticket = _ticket(answer["ticket_id"])
    assert (ticket.reason, ticket.reply_by_email, ticket.subject) == (
        "email", True, "Broken kettle")
    with session_scope() as s:
        conversation = s.get(Conversation, ticket.conversation_id)
        assert (conversation.channel, conversation.customer_email,
                conversation.customer_name) == ("email", "ann@example.com", "Ann Customer")
        record = s.scalar(select(EmailMessage).where(EmailMessage.message_id == message_id))
        assert (record.direction, record.ticket_id) == ("inbound", ticket.id)
    assert _customer_texts(ticket.conversation_id) == [
        "My kettle stopped working after two days."]

    # The acknowledgement threads onto the customer's e-mail.
    [ack] = smtp.messages
    assert ack.recipients == ["ann@example.com"]
    assert ack.message["Subject"] == f"Re: [#{ticket.id}] Broken kettle"
    assert ack.message["In-Reply-To"].strip() == message_id
    assert ack.message["Auto-Submitted"] == "auto-replied"
    assert f"ticket #{ticket.id}" in ack.message.get_content()


def test_a_reply_threads_by_in_reply_to_and_a_duplicate_is_ignored(client, smtp):
    raw, _ = raw_email()
    first = post_email(client, raw)
    ack_id = smtp.messages[0].message["Message-ID"].strip()

    reply, _ = raw_email(subject=f"Re: [#{first['ticket_id']}] Broken kettle",
                         body="It is model K-2.\n\nOn Mon, Support wrote:\n> Thanks",
                         in_reply_to=ack_id)
    threaded = post_email(client, reply)
    assert (threaded["ticket_id"], threaded["duplicate"]) == (first["ticket_id"], False)
    messages, emails = _count(Message), _count(EmailMessage)

    again = post_email(client, reply)
    assert (again["ticket_id"], again["duplicate"]) == (first["ticket_id"], True)
    assert (_count(Message), _count(EmailMessage)) == (messages, emails)
    assert _customer_texts(first["conversation_id"]) == [
        "My kettle stopped working after two days.", "It is model K-2."]
    assert len(smtp.messages) == 1  # no second acknowledgement for a reply


def test_references_thread_when_in_reply_to_is_unknown(client):
    raw, first_id = raw_email()
    first = post_email(client, raw)
    reply, _ = raw_email(subject="Re: something else", in_reply_to="<unknown@elsewhere>",
                         references=f"{first_id} <unknown@elsewhere>", body="More details")
    assert post_email(client, reply)["ticket_id"] == first["ticket_id"]


def test_the_subject_tag_threads_only_for_the_tickets_own_customer(client):
    first = post_email(client, raw_email()[0])
    tag = f"Re: [#{first['ticket_id']}] Broken kettle"
    same = post_email(client, raw_email(subject=tag, body="Forgot: it is blue.")[0])
    assert same["ticket_id"] == first["ticket_id"]

    stranger = post_email(client, raw_email(sender="mallory@example.net", subject=tag,
                                            body="Let me into this ticket")[0])
    assert stranger["ticket_id"] != first["ticket_id"]
    assert _customer_texts(first["conversation_id"]) == [
        "My kettle stopped working after two days.", "Forgot: it is blue."]


def test_a_reply_reopens_a_recently_solved_ticket(client):
    raw, first_id = raw_email()
    first = post_email(client, raw)
    with session_scope() as s:
        ticket = s.get(Ticket, first["ticket_id"])
        ticket.assignee_id = make_user(s).id  # solving makes the ticket the solver's
        ticket.status, ticket.solved_at = "solved", utcnow() - timedelta(hours=1)
    post_email(client, raw_email(in_reply_to=first_id, body="Still broken, sorry")[0])
    assert _ticket(first["ticket_id"]).status == "open"


def test_a_reply_to_a_closed_ticket_opens_a_new_one_in_the_same_conversation(client):
    raw, first_id = raw_email()
    first = post_email(client, raw)
    with session_scope() as s:
        s.get(Ticket, first["ticket_id"]).status = "closed"
    answer = post_email(client, raw_email(in_reply_to=first_id, subject="Re: Broken kettle",
                                          body="The new one broke too")[0])
    assert answer["ticket_id"] != first["ticket_id"]
    assert answer["conversation_id"] == first["conversation_id"]
    new = _ticket(answer["ticket_id"])
    assert (new.status, new.reply_by_email, new.subject) == ("new", True, "Broken kettle")


def test_long_mail_is_shortened_to_the_message_limit_with_a_note(client):
    answer = post_email(client, raw_email(body="word " * 2000)[0])
    [text] = _customer_texts(answer["conversation_id"])
    assert len(text) <= 4000 and text.endswith("characters long.]")


def _status(client, raw, **headers):
    return client.post("/api/v1/channels/email/inbound", content=raw, headers=headers)


def test_the_webhook_needs_the_shared_secret(client):
    raw = raw_email()[0]
    rfc822 = {"Content-Type": "message/rfc822"}
    assert _status(client, raw, **rfc822).status_code == 401
    wrong = _status(client, raw, **rfc822, **{"X-Inbound-Secret": "guess"})
    assert (wrong.status_code, wrong.json()["field"]) == (403, "X-Inbound-Secret")
    with settings_env(TANDEM_INBOUND_EMAIL_SECRET=""):
        off = _status(client, raw, **rfc822, **{"X-Inbound-Secret": "guess"})
    assert off.status_code == 404
    assert off.json()["message"] == "inbound e-mail is not configured"
    assert _count(Ticket) == 0


def test_bad_mail_is_refused_naming_the_field(client):
    def refused(raw, content_type="message/rfc822"):
        response = client.post("/api/v1/channels/email/inbound", content=raw, headers={
            "Content-Type": content_type, "X-Inbound-Secret": "test-inbound-secret"})
        assert response.status_code == 422, response.text
        return response.json()["field"]

    assert refused(raw_email(sender="")[0]) == "from"
    assert refused(raw_email(body="   ")[0]) == "body"
    assert refused(b"x" * (1024 * 1024 + 1)) == "message"
    assert refused(raw_email()[0], content_type="application/json") == "content-type"
    assert refused(raw_email(sender="support@tandem.localhost")[0]) == "from"  # a loop
    assert _count(Ticket) == 0


def test_the_same_mail_arriving_twice_at_once_is_stored_once(smtp):
    """Webhook and poller racing: the loser collides on the unique Message-ID, rolls back
    whole, and on its second run finds the winner's ticket."""
    raw, _ = raw_email()
    barrier = threading.Barrier(2)
    results = []

    def deliver():
        barrier.wait()
        results.append(inbound.receive_in_own_transaction(raw))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.ticket.id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True]
    assert (_count(Ticket), _count(EmailMessage)) == (1, 2)  # the mail and one acknowledgement


def test_a_reply_to_a_merged_ticket_wakes_the_ticket_it_went_into(client):
    first_raw, first_id = raw_email(subject="Kettle", body="Broken kettle")
    first = post_email(client, first_raw)
    second = post_email(client, raw_email(subject="Kettle again", body="Still broken")[0])
    with session_scope() as s:
        agent = make_user(s, role="supervisor")
        actor = Principal(agent.id, agent.email, agent.display_name, agent.role,
                          permissions_for(agent.role))
        merge.merge(s, first["ticket_id"], actor, into_ticket_id=second["ticket_id"])

    answer = post_email(client, raw_email(in_reply_to=first_id, body="Any news?")[0])
    assert answer["ticket_id"] == second["ticket_id"]
    assert _customer_texts(first["conversation_id"])[-1] == "Any news?"
