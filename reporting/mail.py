"""Staff e-mail (summaries, alerts) through the platform's SMTP relay.

The same relay, sender and settings as the customer e-mail (`smtp_*`, `mail_from`): sending
is core.mail's. Sent only from Celery tasks, never inside a transaction.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from core.settings import get_settings


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
