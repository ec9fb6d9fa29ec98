"""Raw test e-mails and a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from aiosmtpd.controller import Controller

from core.settings import get_settings

INBOUND_SECRET = "test-inbound-secret"


def raw_email(*, sender: str = "Ann Customer <ann@example.com>", subject: str = "Broken kettle",
              body: str = "My kettle stopped working after two days.",
              message_id: str | None = None, in_reply_to: str | None = None,
              references: str | None = None, html: str | None = None) -> tuple[bytes, str]:
    """A customer's e-mail as a mail client would send it; returns (raw, Message-ID)."""
    mail = EmailMessage()
    if sender:
        mail["From"] = sender
    mail["To"] = "support@tandem.localhost"
    mail["Subject"] = subject
    message_id = message_id or make_msgid(domain="example.com")
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return mail.as_bytes(), message_id


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpCollector:
    """aiosmtpd handler: keeps what it accepts; `data_replies` scripts refusals first."""

    messages: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    refuse_recipients: bool = False
    attempts: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """Set TANDEM_* variables for the block (settings re-read), then restore them."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@contextmanager
def smtp_server() -> Iterator[SmtpCollector]:
    collector = SmtpCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with settings_env(TANDEM_SMTP_HOST="127.0.0.1", TANDEM_SMTP_PORT=str(port)):
            yield collector
    finally:
        controller.stop()
