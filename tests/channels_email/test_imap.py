"""The IMAP poller's message-handling loop.

MOCK: there is no IMAP server on this machine (none can be installed or started here), so
the mailbox is an in-process fake that answers imaplib's UID SEARCH / FETCH / STORE calls
the way a server does. Everything behind it is real: the inbound service stores the mail
in the database. What is not tested: imaplib's network conversation (login, SELECT, TLS)
in `imap.poll_mailbox`.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.channels.email import imap, inbound
from core.database import session_scope
from handoff.models import EmailMessage, Ticket
from tests.channels_email.mail import raw_email


class FakeMailbox:
    """Answers like imaplib.IMAP4.uid(): ('OK', data) with bytes payloads."""

    def __init__(self, messages: dict[int, bytes]) -> None:
        self.messages = messages
        self.seen: set[int] = set()
        self.fetch_specs: list[str] = []

    def uid(self, command: str, *args):
        if command == "SEARCH":
            assert args == ("UNSEEN",)
            unseen = [str(uid).encode() for uid in sorted(self.messages) if uid not in self.seen]
            return "OK", [b" ".join(unseen)]
        uid = int(args[0])
        if command == "FETCH":
            self.fetch_specs.append(args[1])
            header = f"{uid} (UID {uid} BODY[] {{{len(self.messages[uid])}}}".encode()
            return "OK", [(header, self.messages[uid]), b")"]
        if command == "STORE":
            assert args[1:] == ("+FLAGS", "(\\Seen)")
            self.seen.add(uid)
            return "OK", [b""]
        raise AssertionError(f"unexpected IMAP command {command}")


def test_new_mail_is_stored_and_flagged_seen_bad_mail_flagged_failures_kept(db_url):
    good, good_id = raw_email()
    no_sender, _ = raw_email(sender="")
    flaky, _ = raw_email(sender="bob@example.com", subject="Where is my order?")
    mailbox = FakeMailbox({1: good, 2: no_sender, 3: flaky})

    def handle(raw: bytes) -> object:
        if raw == flaky:
            raise ConnectionError("database unreachable")
        return inbound.receive_in_own_transaction(raw)

    result = imap.process_mailbox(mailbox, handle)

    assert (result.stored, result.rejected, result.failed) == (1, 1, 1)
    assert mailbox.seen == {1, 2}  # 3 stays unseen: the next poll tries again
    assert set(mailbox.fetch_specs) == {"(BODY.PEEK[])"}  # fetching alone marks nothing
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        assert s.scalar(select(EmailMessage.direction)
                        .where(EmailMessage.message_id == good_id)) == "inbound"

    # Next poll: the failed one goes through; a message seen twice is stored once.
    mailbox.seen.discard(1)
    again = imap.process_mailbox(mailbox, inbound.receive_in_own_transaction)
    assert (again.stored, again.rejected, again.failed) == (2, 0, 0)
    assert mailbox.seen == {1, 2, 3}
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2


def test_polling_does_nothing_while_imap_is_not_configured(db_url):
    assert imap.poll_mailbox(inbound.receive_in_own_transaction) is None
