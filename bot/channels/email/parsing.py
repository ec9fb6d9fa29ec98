"""Reading a raw RFC 822 message: who wrote it, what it answers, and only the new text.

Replies quote the whole thread below "On … wrote:" or as ">" lines; keeping that would
repeat every earlier message in the transcript, so it is cut. HTML-only mail is turned
into text, quoted blocks dropped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from core.errors import ValidationFailed

MAX_MESSAGE_BYTES = 1024 * 1024
MAX_HEADER_ID_CHARS = 300  # email_messages.message_id / in_reply_to

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_TICKET_REF = re.compile(r"\[#(\d+)\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# "On Tue, 3 Mar 2026 at 10:00, Ann <ann@example.com> wrote:" (clients wrap it over two lines)
_ATTRIBUTION_START = re.compile(r"^\s*(On|Am|Le|El|Il)\s.+", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(wrote|schrieb|a écrit|escribió|ha scritto)\s*:\s*$",
                              re.IGNORECASE)
_OUTLOOK_SEPARATORS = ("-----original message-----", "________________________________")
_SIGNATURE_DELIMITER = "-- "


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender_email: str
    sender_name: str | None
    body: str


def parse_email(raw: bytes) -> ParsedEmail:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ValidationFailed(f"the message is larger than {MAX_MESSAGE_BYTES} bytes",
                               field="message")
    if not raw.strip():
        raise ValidationFailed("the message is empty", field="message")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(message, MimeMessage):  # policy.default always builds these
        raise ValidationFailed("the message could not be parsed", field="message")
    sender_email, sender_name = _sender(message)
    body = strip_quoted(_text_of(message))
    if not body:
        raise ValidationFailed("the message has no text", field="body")
    ids_replied_to = _message_ids(message.get("In-Reply-To"))
    return ParsedEmail(
        message_id=_own_id(message, raw),
        in_reply_to=ids_replied_to[0] if ids_replied_to else None,
        references=tuple(_message_ids(message.get("References"))),
        subject=" ".join(str(message.get("Subject", "")).split()),
        sender_email=sender_email,
        sender_name=sender_name,
        body=body,
    )


def _sender(message: MimeMessage) -> tuple[str, str | None]:
    header = message.get("From")
    if header is not None:
        addresses = getattr(header, "addresses", ())
        for address in addresses:
            if isinstance(address, Address) and "@" in address.addr_spec:
                return address.addr_spec.lower(), address.display_name or None
        for name, addr in getaddresses([str(header)]):
            if "@" in addr:
                return addr.lower(), name or None
    raise ValidationFailed("the message has no From address", field="from")


def _message_ids(header: object) -> list[str]:
    if header is None:
        return []
    return [found for found in _MESSAGE_ID.findall(str(header))
            if len(found) <= MAX_HEADER_ID_CHARS]


def _own_id(message: MimeMessage, raw: bytes) -> str:
    found = _message_ids(message.get("Message-ID"))
    if found:
        return found[0]
    # Without a Message-ID the content identifies it, so a redelivery still deduplicates.
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.tandem>"


def _text_of(message: MimeMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None or not isinstance(part, MimeMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "pre"})
    _SKIPPED = frozenset({"script", "style", "head", "title", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Gmail wraps the quoted thread in <div class="gmail_quote">; others in blockquote.
        classes = dict(attrs).get("class") or ""
        if self._skip_depth or tag in self._SKIPPED or "gmail_quote" in classes:
            if tag not in ("br", "img", "hr", "meta", "link", "input"):
                self._skip_depth += 1
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            self._skip_depth -= 1
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: stops at the quoted thread, the signature, or ">" lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line == _SIGNATURE_DELIMITER or stripped.lower() in _OUTLOOK_SEPARATORS:
            break
        if _ATTRIBUTION_START.match(line):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if _ATTRIBUTION_END.search(line) or _ATTRIBUTION_END.search(following):
                break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def ticket_reference(subject: str) -> int | None:
    """The ticket id from a "[#123]" tag in the subject, as our replies carry it."""
    found = _TICKET_REF.search(subject)
    return int(found.group(1)) if found else None


def clean_subject(subject: str) -> str:
    """A ticket subject from a mail subject: no "Re:"/"Fwd:" prefixes, no ticket tag."""
    cleaned = " ".join(_TICKET_REF.sub(" ", _REPLY_PREFIX.sub("", subject)).split())
    return cleaned or "(no subject)"
