"""Reading raw customer e-mail: sender, threading ids, and only the new text."""

import pytest

from bot.channels.email.parsing import (
    MAX_MESSAGE_BYTES,
    clean_subject,
    html_to_text,
    parse_email,
    strip_quoted,
    ticket_reference,
)
from core.errors import ValidationFailed
from tests.channels_email.mail import raw_email


def test_headers_and_plain_body_are_read():
    raw, message_id = raw_email(in_reply_to="<a@x>", references="<root@x> <a@x>")
    parsed = parse_email(raw)
    assert parsed.message_id == message_id
    assert parsed.in_reply_to == "<a@x>"
    assert parsed.references == ("<root@x>", "<a@x>")
    assert (parsed.sender_email, parsed.sender_name) == ("ann@example.com", "Ann Customer")
    assert parsed.subject == "Broken kettle"
    assert parsed.body == "My kettle stopped working after two days."


def test_the_quoted_thread_below_the_attribution_is_cut():
    body = ("Yes, order 1042.\n\nThanks,\nAnn\n\n"
            "On Tue, 3 Mar 2026 at 10:00, Tandem Support <support@tandem.localhost> wrote:\n"
            "> Which order is it?\n> -- \n> Ticket #5")
    assert strip_quoted(body) == "Yes, order 1042.\n\nThanks,\nAnn"


def test_an_attribution_wrapped_over_two_lines_and_stray_quote_lines_are_dropped():
    body = ("> an earlier line quoted on top\nIt is still broken.\n"
            "On Tue, 3 Mar 2026 at 10:00, Tandem Support <support@tandem.localhost>\n"
            "wrote:\n> old text")
    assert strip_quoted(body) == "It is still broken."


def test_signature_and_outlook_separator_end_the_new_text():
    assert strip_quoted("Hello\n-- \nAnn, Northwind fan") == "Hello"
    assert strip_quoted("New part\n\n-----Original Message-----\nFrom: x") == "New part"


def test_a_sentence_starting_with_on_is_kept():
    assert strip_quoted("On Monday I ordered a kettle.\nIt broke.") == (
        "On Monday I ordered a kettle.\nIt broke.")


def test_html_only_mail_becomes_text_without_the_quoted_block():
    html = ("<html><head><style>p{color:red}</style></head><body><p>Hello &amp; thanks!</p>"
            "<div>Second<br>line</div><blockquote>old quoted text</blockquote>"
            "<div class=\"gmail_quote\">On Mon … wrote: older</div></body></html>")
    assert html_to_text(html) == "Hello & thanks!\n\nSecond\nline"


def test_plain_text_is_preferred_over_html():
    raw, _ = raw_email(body="plain version", html="<p>html version</p>")
    assert parse_email(raw).body == "plain version"


def test_html_is_the_fallback_when_there_is_no_plain_part():
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"] = "bob@example.com"
    mail["Subject"] = "hi"
    mail.set_content("<p>only <b>html</b></p>", subtype="html")
    assert parse_email(mail.as_bytes()).body == "only html"


def test_a_message_without_message_id_gets_a_stable_one():
    raw = b"From: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    assert parse_email(raw).message_id == parse_email(raw).message_id
    assert parse_email(raw).message_id.endswith("@no-message-id.tandem>")


@pytest.mark.parametrize(("raw", "field"), [
    (raw_email(sender="")[0], "from"),
    (b"From: not an address\r\nSubject: x\r\n\r\nhello\r\n", "from"),
    (raw_email(body="\n> only quoted\n")[0], "body"),
    (b"", "message"),
    (raw_email(body="x" * (MAX_MESSAGE_BYTES + 1))[0], "message"),
])
def test_bad_input_names_the_field(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_email(raw)
    assert caught.value.field == field


def test_subjects():
    assert ticket_reference("Re: [#42] Broken kettle") == 42
    assert ticket_reference("Broken kettle") is None
    assert clean_subject("RE: Fwd: [#42] Broken kettle") == "Broken kettle"
    assert clean_subject("  ") == "(no subject)"
