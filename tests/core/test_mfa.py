"""TOTP two-factor authentication, single-use recovery codes, and the administrator's
enrolment-only session."""

from datetime import timedelta

import pyotp
import pytest

from core.auth import mfa
from core.database import session_scope, utcnow
from core.errors import AuthenticationRequired
from tests.api_helpers import api_client
from tests.factories import PASSWORD, make_user

ADMIN = "root@example.test"


@pytest.fixture
def client(db_url):
    with session_scope() as s:
        make_user(s, role="admin", email=ADMIN)
        make_user(s, role="agent", email="alex@example.test")
    with api_client() as c:
        yield c


def _login(client, **extra):
    client.cookies.clear()
    return client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD, **extra})


def test_admin_without_totp_gets_an_enrolment_only_session_then_enrols(client):
    response = _login(client)
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    client.cookies.clear()
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me["mfa_enrolment_required"] is True and me["permissions"] == []
    refused = client.get("/api/v1/admin/users", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["details"]["mfa_enrolment_required"] is True

    secret = client.post("/api/v1/auth/totp/setup", headers=headers).json()["secret"]
    wrong = client.post("/api/v1/auth/totp/enable", headers=headers, json={"code": "000000"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    enabled = client.post("/api/v1/auth/totp/enable", headers=headers,
                          json={"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == mfa.RECOVERY_CODE_COUNT and len(set(codes)) == len(codes)
    # The same session now has the administrator's permissions.
    assert client.get("/api/v1/admin/users", headers=headers).status_code == 200

    # From now on a login needs the second factor.
    missing = _login(client)
    assert missing.status_code == 401 and missing.json()["field"] == "totp_code"
    # The code just used to enable cannot be replayed.
    assert _login(client, totp_code=pyotp.TOTP(secret).now()).status_code == 401
    # A recovery code works once.
    assert _login(client, recovery_code=codes[0]).status_code == 200
    again = _login(client, recovery_code=codes[0])
    assert again.status_code == 401 and again.json()["field"] == "recovery_code"
    assert _login(client, recovery_code=codes[1]).status_code == 200
    # Administrators cannot switch TOTP off.
    assert client.post("/api/v1/auth/totp/disable", headers=headers,
                       json={"password": PASSWORD}).status_code == 409


def test_totp_codes_are_single_use_and_follow_the_clock(session):
    user = make_user(session, role="agent")
    now = utcnow()
    secret = mfa.start_enrolment(user).secret
    totp = pyotp.TOTP(secret)
    codes = mfa.confirm_enrolment(session, user, totp.at(now), now)
    assert mfa.remaining_recovery_codes(session, user) == len(codes)

    later = now + timedelta(seconds=60)
    assert mfa.verify_second_factor(session, user, totp_code=totp.at(later), recovery_code=None,
                                    now=later) == "totp"
    with pytest.raises(AuthenticationRequired):  # replay of the same step
        mfa.verify_second_factor(session, user, totp_code=totp.at(later), recovery_code=None,
                                 now=later)
    much_later = now + timedelta(minutes=10)
    with pytest.raises(AuthenticationRequired):  # a stale code
        mfa.verify_second_factor(session, user, totp_code=totp.at(later), recovery_code=None,
                                 now=much_later)
    assert mfa.verify_second_factor(session, user, totp_code=None, recovery_code=codes[3],
                                    now=much_later) == "recovery_code"
    with pytest.raises(AuthenticationRequired):
        mfa.verify_second_factor(session, user, totp_code=None, recovery_code=codes[3],
                                 now=much_later)
    assert mfa.remaining_recovery_codes(session, user) == len(codes) - 1


def test_recovery_codes_are_stored_hashed(session):
    from core.auth.models import RecoveryCode

    user = make_user(session, role="agent")
    now = utcnow()
    secret = mfa.start_enrolment(user).secret
    codes = mfa.confirm_enrolment(session, user, pyotp.TOTP(secret).at(now), now)
    stored = {r.code_hash for r in session.query(RecoveryCode).filter_by(user_id=user.id)}
    assert not stored & set(codes)
    assert len(stored) == len(codes)
