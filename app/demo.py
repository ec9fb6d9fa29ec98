"""Demo data for `make run`: staff accounts for every role and the retailer's articles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.models import User
from core.auth.permissions import Role
from core.auth.service import create_user
from knowledge_base.articles import load_demo_articles

DEMO_PASSWORD = "tandem-demo-2026"  # noqa: S105 - printed on purpose for the demo

DEMO_USERS: list[tuple[str, str, Role]] = [
    ("admin@tandem.demo", "Ada Admin", Role.ADMIN),
    ("supervisor@tandem.demo", "Sam Supervisor", Role.SUPERVISOR),
    ("agent@tandem.demo", "Alex Agent", Role.AGENT),
    ("agent2@tandem.demo", "Bea Agent", Role.AGENT),
    ("editor@tandem.demo", "Eddie Editor", Role.KNOWLEDGE_EDITOR),
    ("ml@tandem.demo", "Mia ML", Role.ML_ENGINEER),
    ("analyst@tandem.demo", "Ana Analyst", Role.ANALYST),
    ("support@tandem.demo", "Tess Tech", Role.TECHNICAL_SUPPORT),
]


def seed(session: Session) -> dict[str, int]:
    created = 0
    for email, name, role in DEMO_USERS:
        if session.scalar(select(User.id).where(User.email == email)) is None:
            create_user(session, email=email, display_name=name, password=DEMO_PASSWORD,
                        role=role)
            created += 1
    articles = load_demo_articles(session)
    return {"users_created": created, "articles": articles}
