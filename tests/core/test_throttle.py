"""Login throttling: the 6th wrong password is refused, delays grow, and the real user is
never locked out for good. Time is moved with `now=`, not slept."""

import contextlib
from datetime import timedelta

import pytest

from core.auth import service as auth
from core.auth import throttle
from core.auth.throttle import TooManyAttempts
from core.database import session_scope, utcnow
from core.errors import AuthenticationRequired
from tests.api_helpers import api_client
from tests.factories import PASSWORD, make_user

VICTIM = "victim@example.test"


def _fail(session, *, email=VICTIM, address="198.51.100.7", now):
    with pytest.raises(AuthenticationRequired):
        auth.login(session, email=email, password="wrong password!!", client_address=address,
                   now=now)


def test_sixth_wrong_password_in_the_window_is_refused(session):
    make_user(session, email=VICTIM)
    start = utcnow()
    for i in range(throttle.PAIR_LIMIT):
        _fail(session, now=start + timedelta(seconds=i))
    with pytest.raises(TooManyAttempts) as refused:
        # Even the right password is refused now: the attacker learns nothing more.
        auth.login(session, email=VICTIM, password=PASSWORD, client_address="198.51.100.7",
                   now=start + timedelta(seconds=6))
    assert 0 < refused.value.retry_after <= throttle.WINDOW.total_seconds()
    # Hammering while blocked does not extend the block: once the window has passed, it ends.
    for i in range(20):
        with pytest.raises(TooManyAttempts):
            auth.login(session, email=VICTIM, password="x" * 12, client_address="198.51.100.7",
                       now=start + timedelta(seconds=10 + i))
    later = start + throttle.WINDOW + timedelta(seconds=5)
    token, _ = auth.login(session, email=VICTIM, password=PASSWORD,
                          client_address="198.51.100.7", now=later)
    assert token


def test_victim_from_another_address_is_not_locked_out(session):
    make_user(session, email=VICTIM)
    start = utcnow()
    # The victim logged in from home earlier.
    auth.login(session, email=VICTIM, password=PASSWORD, client_address="203.0.113.5",
               now=start - timedelta(days=1))
    # A distributed attack: 40 tries from 8 addresses within two minutes (the account's
    # growing delay already refuses some of them), then one more failure after a pause.
    for n in range(40):
        with contextlib.suppress(TooManyAttempts):
            _fail(session, address=f"192.0.2.{n % 8}", now=start + timedelta(seconds=3 * n))
    t = start + timedelta(seconds=3 * 40 + 61)
    _fail(session, address="192.0.2.9", now=t)
    # A new address must wait (growing delay on the account, capped at a minute) ...
    with pytest.raises(TooManyAttempts) as slowed:
        auth.login(session, email=VICTIM, password=PASSWORD, client_address="203.0.113.99",
                   now=t + timedelta(seconds=1))
    assert slowed.value.retry_after <= throttle.MAX_ACCOUNT_DELAY.total_seconds()
    # ... but the victim's usual address logs in at once,
    assert auth.login(session, email=VICTIM, password=PASSWORD, client_address="203.0.113.5",
                      now=t + timedelta(seconds=1))[0]
    # and any other address can after the window, whatever the attacker did.
    after_window = t + throttle.WINDOW + timedelta(seconds=1)
    assert auth.login(session, email=VICTIM, password=PASSWORD, client_address="203.0.113.99",
                      now=after_window)[0]


def test_one_address_spraying_many_accounts_gets_growing_delays(session):
    start = utcnow()
    for n in range(throttle.ADDRESS_FREE):
        _fail(session, email=f"guess{n}@example.test", now=start)
    with pytest.raises(TooManyAttempts) as first:
        auth.login(session, email="other@example.test", password="x" * 12,
                   client_address="198.51.100.7", now=start)
    _fail(session, email="other@example.test",
          now=start + timedelta(seconds=first.value.retry_after))
    with pytest.raises(TooManyAttempts) as second:
        auth.login(session, email="third@example.test", password="x" * 12,
                   client_address="198.51.100.7",
                   now=start + timedelta(seconds=first.value.retry_after))
    assert second.value.retry_after > first.value.retry_after
    # Another address is not affected.
    _fail(session, email="other@example.test", address="192.0.2.200", now=start)


def test_http_login_answers_429_with_retry_after_and_audits_failures(db_url):
    from core.audit import AuditEntry

    with session_scope() as s:
        make_user(s, email=VICTIM)
    with api_client() as client:
        for _ in range(throttle.PAIR_LIMIT):
            response = client.post("/api/v1/auth/login",
                                   json={"email": VICTIM, "password": "wrong password!!"})
            assert response.status_code == 401
        sixth = client.post("/api/v1/auth/login", json={"email": VICTIM, "password": PASSWORD})
    assert sixth.status_code == 429
    assert int(sixth.headers["Retry-After"]) > 0
    assert sixth.json()["code"] == "too_many_attempts"
    with session_scope() as s:
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions.count("auth.login_failed") == throttle.PAIR_LIMIT
    assert actions[-1] == "auth.login_throttled"
