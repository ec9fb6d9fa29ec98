"""A support team of two agents and a supervisor, and a client of the api (shared by the
ticket tests; a test module with other needs defines its own `client`)."""

import pytest

from core.database import session_scope
from handoff.models import TeamMember
from tests.api_helpers import api_client
from tests.core.auth_helpers import make_team
from tests.factories import make_user


@pytest.fixture
def client(db_url):
    with session_scope() as s:
        team = make_team(s, "support")
        for role, email in [("agent", "alex@example.test"), ("agent", "bea@example.test"),
                            ("supervisor", "sam@example.test")]:
            user = make_user(s, role=role, email=email)
            s.add(TeamMember(team_id=team.id, user_id=user.id))
    with api_client() as c:
        yield c
