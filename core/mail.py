"""Talking to the SMTP relay: one place for every e-mail the platform sends (customers'
replies and CSAT links, staff summaries and alerts). Called from Celery tasks only, never
inside a transaction."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from core.settings import get_settings

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


def deliver(mime: EmailMessage) -> None:
    """Hand the message to the SMTP relay (raises on failure; see `is_permanent`)."""
    settings = get_settings()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                      timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(mime)


def is_permanent(exc: BaseException) -> bool:
    """True when resending cannot help: the relay refused this recipient or this content.

    Connection trouble, 4xx answers and login failures (a configuration an operator can
    fix) are worth retrying.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def retry_delay(attempt: int) -> int:
    """Exponential backoff: 30 s, 1 min, 2 min, … capped at an hour."""
    return int(min(RETRY_BASE_SECONDS * 2 ** attempt, RETRY_MAX_SECONDS))
