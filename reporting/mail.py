"""Staff e-mail (summaries, alerts) through the platform's SMTP relay.

The same relay, sender and settings as the customer e-mail in bot.channels.email.outbound
(`smtp_*`, `mail_from`); that module sits beside this one in the import layers, so the few
lines that talk SMTP are repeated here rather than imported. Sent only from Celery tasks,
never inside a transaction.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from core.settings import get_settings

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


def compose(*, to_name: str, to_address: str, subject: str, body: str) -> EmailMessage:
    settings = get_settings()
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "tandem.localhost"
    mime = EmailMessage()
    mime["From"] = settings.mail_from
    mime["To"] = formataddr((to_name, to_address))
    mime["Subject"] = subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(domain=domain)
    # RFC 3834: generated mail; auto-responders should not answer it.
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(body)
    return mime


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
    """True when resending cannot help (the relay refused the recipient or the content)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def retry_delay(attempt: int) -> int:
    return int(min(RETRY_BASE_SECONDS * 2 ** attempt, RETRY_MAX_SECONDS))
