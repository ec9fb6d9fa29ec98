"""Webhook signatures: HMAC-SHA256 over timestamp and body; replays and forgeries refused."""

import pytest

from integrations.signing import SignatureError, StaleTimestamp, sign, verify

SECRET = "whsec_test"
BODY = b'{"event": "ticket.created", "id": "abc"}'


def test_a_fresh_signature_verifies():
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(SECRET, header, BODY, now=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize(("secret", "body"), [
    ("whsec_other", BODY),  # signed with another secret
    (SECRET, BODY.replace(b"created", b"solved")),  # body changed in transit
])
def test_a_bad_signature_is_rejected(secret, body):
    header = sign(secret, body, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, BODY, now=1_700_000_000)


def test_a_changed_timestamp_breaks_the_signature():
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    forged = header.replace("t=1700000000", "t=1700000500")
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, forged, BODY, now=1_700_000_500)


@pytest.mark.parametrize("delay", [301, 3600, -301])
def test_a_replay_outside_the_window_is_rejected(delay):
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, header, BODY, now=1_700_000_000 + delay, tolerance=300)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=12", "t=abc,v1=00", "garbage"])
def test_malformed_headers_are_rejected(header):
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY)
