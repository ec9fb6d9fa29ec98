from core.auth.permissions import ROLE_PERMISSIONS, Permission, Role, permissions_for


def test_unknown_role_has_no_permissions():
    assert permissions_for("owner") == frozenset()


def test_admin_has_every_permission():
    assert permissions_for("admin") == frozenset(Permission)


def test_every_role_is_mapped():
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_agents_work_tickets_but_do_not_manage_users_or_publish():
    agent = permissions_for("agent")
    assert Permission.TICKETS_REPLY in agent
    assert Permission.USERS_MANAGE not in agent
    assert Permission.KB_PUBLISH not in agent


def test_analyst_cannot_read_tickets():
    assert Permission.TICKETS_READ not in permissions_for("analyst")
