"""Password change and reset, API keys, and changes that take effect on the next request."""

from datetime import timedelta

import pytest

from core.auth import api_keys, reset_delivery
from core.auth import service as auth
from core.auth.models import ApiKey, User
from core.auth.permissions import Permission
from core.database import session_scope, utcnow
from core.errors import PermissionDenied, ValidationFailed
from tests.api_helpers import api_client, login
from tests.core.auth_helpers import bearer, enable_totp
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "plum tractor velvet lagoon"


class RecordingSender:
    def __init__(self):
        self.sent = []

    def send(self, *, email, link):
        self.sent.append((email, link))


@pytest.fixture
def sender():
    recorder = RecordingSender()
    previous = reset_delivery.set_sender(recorder)
    yield recorder
    reset_delivery.set_sender(previous)


@pytest.fixture
def client(db_url):
    with session_scope() as s:
        admin = make_user(s, role="admin", email="root@example.test")
        enable_totp(admin)
        make_user(s, role="agent", email="alex@example.test")
    with api_client() as c:
        yield c


def _admin(client):
    with session_scope() as s:
        return bearer(s, s.query(User).filter_by(email="root@example.test").one())


def _user_id(email):
    with session_scope() as s:
        return s.query(User).filter_by(email=email).one().id


def test_password_change_checks_the_old_one_and_logs_out_other_sessions(client):
    first = login(client, "alex@example.test", PASSWORD)
    second = login(client, "alex@example.test", PASSWORD)
    wrong = client.post("/api/v1/auth/password", headers=first,
                        json={"current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    common = client.post("/api/v1/auth/password", headers=first,
                         json={"current_password": PASSWORD, "new_password": "password1234"})
    assert common.status_code == 422 and common.json()["field"] == "new_password"
    done = client.post("/api/v1/auth/password", headers=first,
                       json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    assert client.get("/api/v1/auth/me", headers=first).status_code == 200
    assert client.get("/api/v1/auth/me", headers=second).status_code == 401
    assert login(client, "alex@example.test", NEW_PASSWORD)


def test_reset_link_is_delivered_by_the_sender_and_works_once(client, sender):
    old_session = login(client, "alex@example.test", PASSWORD)
    for email in ("alex@example.test", "nobody@example.test"):
        response = client.post("/api/v1/auth/password-reset", json={"email": email})
        assert response.status_code == 202  # same answer either way
    assert [email for email, _ in sender.sent] == ["alex@example.test"]
    token = sender.sent[0][1].split("#token=", 1)[1]

    weak = client.post("/api/v1/auth/password-reset/confirm",
                       json={"token": token, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"
    ok = client.post("/api/v1/auth/password-reset/confirm",
                     json={"token": token, "new_password": NEW_PASSWORD})
    assert ok.status_code == 204
    reused = client.post("/api/v1/auth/password-reset/confirm",
                         json={"token": token, "new_password": "another long passphrase"})
    assert reused.status_code == 422 and reused.json()["field"] == "token"
    assert client.get("/api/v1/auth/me", headers=old_session).status_code == 401
    assert login(client, "alex@example.test", NEW_PASSWORD)


def test_reset_links_expire(session):
    user = make_user(session, role="agent")
    issued = utcnow()
    token = auth.issue_reset_link(session, user, now=issued).split("#token=", 1)[1]
    with pytest.raises(ValidationFailed):
        auth.reset_password(session, token=token, new_password=NEW_PASSWORD, client_address=None,
                            now=issued + auth.RESET_LINK_LIFETIME + timedelta(seconds=1))
    auth.reset_password(session, token=token, new_password=NEW_PASSWORD, client_address=None,
                        now=issued + auth.RESET_LINK_LIFETIME - timedelta(seconds=1))


def test_disabling_a_user_stops_their_session_on_the_next_request(client):
    alex = login(client, "alex@example.test", PASSWORD)
    assert client.get("/api/v1/agent/queue", headers=alex).status_code == 200
    admin = _admin(client)
    response = client.patch(f"/api/v1/admin/users/{_user_id('alex@example.test')}",
                            headers=admin, json={"is_active": False})
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert client.get("/api/v1/agent/queue", headers=alex).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": "alex@example.test",
                                                   "password": PASSWORD}).status_code == 401


def test_role_changes_take_effect_at_once_including_custom_roles(client):
    alex = login(client, "alex@example.test", PASSWORD)
    admin = _admin(client)
    alex_id = _user_id("alex@example.test")
    assert client.get("/api/v1/agent/queue", headers=alex).status_code == 200
    client.patch(f"/api/v1/admin/users/{alex_id}", headers=admin, json={"role": "analyst"})
    assert client.get("/api/v1/agent/queue", headers=alex).status_code == 403

    created = client.post("/api/v1/admin/roles", headers=admin, json={
        "name": "queue_watcher", "permissions": ["tickets.read"], "description": "read only"})
    assert created.status_code == 201
    bad = client.post("/api/v1/admin/roles", headers=admin,
                      json={"name": "x_role", "permissions": ["tickets.fly"]})
    assert bad.status_code == 422 and bad.json()["field"] == "permissions"
    client.patch(f"/api/v1/admin/users/{alex_id}", headers=admin, json={"role": "queue_watcher"})
    assert client.get("/api/v1/agent/queue", headers=alex).status_code == 200
    client.put("/api/v1/admin/roles/queue_watcher", headers=admin, json={"permissions": []})
    assert client.get("/api/v1/agent/queue", headers=alex).status_code == 403
    in_use = client.delete("/api/v1/admin/roles/queue_watcher", headers=admin)
    assert in_use.status_code == 409


def test_api_keys_are_scoped_revocable_and_stored_hashed(client):
    admin = _admin(client)
    created = client.post("/api/v1/admin/api-keys", headers=admin,
                          json={"name": "CRM sync", "permissions": ["tickets.read"]})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("tk_")
    with session_scope() as s:
        assert s.query(ApiKey).filter_by(key_hash=key).count() == 0  # only the hash is kept
    assert "key" not in client.get("/api/v1/admin/api-keys", headers=admin).json()[0]

    integration = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/agent/queue", headers=integration).status_code == 200
    # Outside its scope, although its owner is an administrator.
    assert client.get("/api/v1/admin/users", headers=integration).status_code == 403
    assert client.post("/api/v1/auth/password", headers=integration, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 403

    revoked = client.delete(f"/api/v1/admin/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 200
    assert client.get("/api/v1/agent/queue", headers=integration).status_code == 401


def test_a_key_cannot_carry_more_than_its_creator_has(session):
    owner = make_user(session, role="supervisor")
    with pytest.raises(PermissionDenied) as info:
        api_keys.create_key(session, owner_id=owner.id,
                            owner_permissions=frozenset({Permission.TICKETS_READ}),
                            name="too much", permissions=["tickets.read", "users.manage"])
    assert info.value.field == "permissions"


def test_a_key_dies_with_its_owner(client):
    admin = _admin(client)
    with session_scope() as s:
        sup = make_user(s, role="supervisor", email="sup@example.test")
        _, plain = api_keys.create_key(s, owner_id=sup.id,
                                       owner_permissions=frozenset({Permission.TICKETS_READ}),
                                       name="bot", permissions=["tickets.read"])
    integration = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/agent/queue", headers=integration).status_code == 200
    client.patch(f"/api/v1/admin/users/{_user_id('sup@example.test')}", headers=admin,
                 json={"role": "analyst"})
    assert client.get("/api/v1/agent/queue", headers=integration).status_code == 403
    client.patch(f"/api/v1/admin/users/{_user_id('sup@example.test')}", headers=admin,
                 json={"is_active": False})
    assert client.get("/api/v1/agent/queue", headers=integration).status_code == 401


def test_reset_requests_cannot_flood_an_inbox(client, sender):
    for _ in range(auth.MAX_RESET_LINKS + 3):
        response = client.post("/api/v1/auth/password-reset", json={"email": "alex@example.test"})
        assert response.status_code == 202
    assert len(sender.sent) == auth.MAX_RESET_LINKS


def test_a_staff_member_keeps_their_language_and_time_zone(client):
    headers = _admin(client)
    assert client.get("/api/v1/auth/me", headers=headers).json()["locale"] is None
    saved = client.put("/api/v1/auth/me/preferences", headers=headers,
                       json={"locale": "zh-CN", "time_zone": "Asia/Shanghai"})
    assert saved.status_code == 200
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert (me["locale"], me["time_zone"]) == ("zh-CN", "Asia/Shanghai")
    bad_zone = client.put("/api/v1/auth/me/preferences", headers=headers,
                          json={"locale": "en", "time_zone": "Mars/Olympus"})
    assert bad_zone.status_code == 422 and bad_zone.json()["field"] == "time_zone"
    bad_locale = client.put("/api/v1/auth/me/preferences", headers=headers,
                            json={"locale": "xx"})
    assert bad_locale.status_code == 422 and "locale" in bad_locale.json()["field"]
    # Nothing was lost by the refused changes.
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert (me["locale"], me["time_zone"]) == ("zh-CN", "Asia/Shanghai")
