"""Polling the support mailbox over IMAP (imaplib), for deployments without a webhook.

Unseen messages are fetched without marking them (BODY.PEEK), handed to the inbound
service one by one, and flagged \\Seen only once stored, so a crash mid-poll loses
nothing: the next poll sees the message again and Message-ID deduplication makes the
second delivery harmless. A message the service rejects (no sender, no text, too big) is
flagged too, or it would be retried forever; a temporary failure (database busy) is not.
"""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import ValidationFailed
from core.settings import get_settings

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_POLL = 100
IMAP_TIMEOUT_SECONDS = 60.0


class Mailbox(Protocol):
    """The part of imaplib.IMAP4 the poll uses."""

    def uid(self, command: str, *args: Any) -> tuple[str, list[Any]]: ...


@dataclass
class PollResult:
    stored: int = 0
    rejected: int = 0
    failed: int = 0


def process_mailbox(mailbox: Mailbox, handle: Callable[[bytes], object], *,
                    limit: int = MAX_MESSAGES_PER_POLL) -> PollResult:
    """Hand every unseen message of the selected mailbox to `handle`."""
    result = PollResult()
    status, data = mailbox.uid("SEARCH", "UNSEEN")
    if status != "OK":
        raise imaplib.IMAP4.error(f"SEARCH UNSEEN failed: {data!r}")
    uids = (data[0] or b"").split()[:limit]
    for uid in uids:
        raw = _fetch(mailbox, uid)
        if raw is None:
            result.failed += 1
            continue
        try:
            handle(raw)
        except ValidationFailed as exc:
            log.warning("mailbox message %s rejected: %s", uid.decode(), exc.message)
            result.rejected += 1
        except Exception:
            log.exception("mailbox message %s not stored; it stays unseen for the next poll",
                          uid.decode())
            result.failed += 1
            continue
        else:
            result.stored += 1
        mailbox.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    return result


def _fetch(mailbox: Mailbox, uid: bytes) -> bytes | None:
    status, data = mailbox.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        log.warning("could not fetch mailbox message %s: %r", uid.decode(), data)
        return None
    for item in data:
        # imaplib answers [(b'1 (UID 7 BODY[] {123}', b'<raw message>'), b')'].
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def poll_mailbox(handle: Callable[[bytes], object]) -> PollResult | None:
    """One poll of the configured mailbox; None when IMAP is not configured."""
    settings = get_settings()
    if not settings.imap_host:
        return None
    connection: imaplib.IMAP4
    if settings.imap_ssl:
        connection = imaplib.IMAP4_SSL(settings.imap_host, settings.imap_port,
                                       timeout=IMAP_TIMEOUT_SECONDS)
    else:
        connection = imaplib.IMAP4(settings.imap_host, settings.imap_port,
                                   timeout=IMAP_TIMEOUT_SECONDS)
    try:
        connection.login(settings.imap_username, settings.imap_password.get_secret_value())
        status, data = connection.select(settings.imap_mailbox)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open mailbox {settings.imap_mailbox}: {data!r}")
        result = process_mailbox(connection, handle)
        connection.close()
        return result
    finally:
        try:
            connection.logout()
        except (imaplib.IMAP4.error, OSError):
            log.debug("IMAP logout failed", exc_info=True)
