"""Demo data for `make run`: staff accounts for every role and the retailer's articles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.models import User
from core.auth.permissions import Role
from core.auth.service import create_user
from handoff import routing
from handoff.models import (
    AssignmentPolicy,
    BusinessCalendar,
    CannedResponse,
    Priority,
    SlaPolicy,
    Team,
    TeamMember,
)
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
    levels = seed_service_levels(session)
    support = seed_support(session)
    return {"users_created": created, "articles": articles, **levels, **support}


SUPPORT_HOURS = "Support hours"
WORKDAY = [["08:00", "18:00"]]
# (priority, first response, next response, resolution in minutes, on the calendar?)
DEMO_SLA_POLICIES: list[tuple[Priority, int, int, int, bool]] = [
    (Priority.URGENT, 15, 30, 4 * 60, False),  # 24/7
    (Priority.HIGH, 60, 2 * 60, 8 * 60, True),
    (Priority.NORMAL, 4 * 60, 8 * 60, 24 * 60, True),
    (Priority.LOW, 8 * 60, 24 * 60, 72 * 60, True),
]


def seed_service_levels(session: Session) -> dict[str, int]:
    """The support team's hours (Berlin, weekdays 08:00-18:00) and one SLA policy per
    priority. Leaves whatever already exists alone, so seeding twice changes nothing."""
    calendar = session.scalar(select(BusinessCalendar)
                              .where(BusinessCalendar.name == SUPPORT_HOURS))
    if calendar is None:
        calendar = BusinessCalendar(
            name=SUPPORT_HOURS, timezone="Europe/Berlin", always_open=False,
            weekly_hours={"mon": WORKDAY, "tue": WORKDAY, "wed": WORKDAY, "thu": WORKDAY,
                          "fri": WORKDAY, "sat": [], "sun": []},
            holidays=["2026-10-03", "2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"])
        session.add(calendar)
        session.flush()
    created = 0
    for priority, first, following, resolution, business_hours in DEMO_SLA_POLICIES:
        if session.scalar(select(SlaPolicy.id).where(SlaPolicy.priority == priority)):
            continue
        session.add(SlaPolicy(priority=priority, first_response_minutes=first,
                              next_response_minutes=following, resolution_minutes=resolution,
                              calendar_id=calendar.id if business_hours else None,
                              warn_ratio=0.2))
        created += 1
    session.flush()
    return {"calendar_id": calendar.id, "sla_policies_created": created}


# (slug, name, assignment policy, members, intents routed to it). Demo teams chat 24/7 (no
# calendar) so the demo works at any hour; SLA clocks still count business time.
DEMO_TEAMS: list[tuple[str, str, AssignmentPolicy, list[str], list[str]]] = [
    ("general", "General support", AssignmentPolicy.MANUAL,
     ["agent@tandem.demo", "agent2@tandem.demo", "supervisor@tandem.demo"],
     ["request_human", "ask_account", "ask_products"]),
    ("orders", "Orders & delivery", AssignmentPolicy.ROUND_ROBIN,
     ["agent@tandem.demo", "supervisor@tandem.demo"],
     ["ask_orders", "ask_order_status", "ask_shipping"]),
    ("billing", "Billing & returns", AssignmentPolicy.LEAST_BUSY,
     ["agent2@tandem.demo", "supervisor@tandem.demo"],
     ["ask_payments", "ask_returns", "start_return", "complain"]),
]
# (shortcut, title, body, team slug or None for everyone)
DEMO_CANNED: list[tuple[str, str, str, str | None]] = [
    ("hello", "Greeting", "Hi {{customer.name}}, this is {{agent.name}}. How can I help you "
     "today?", None),
    ("bye", "Closing", "Glad I could help! I'll close ticket #{{ticket.id}} now. Have a great "
     "day.", None),
    ("track", "Tracking link", "You can follow your parcel at any time under Account > "
     "Orders > Track. Carriers update the status within 24 hours of dispatch.", "orders"),
    ("refund", "Refund timing", "Refunds reach your account 3-5 working days after we "
     "receive the return.", "billing"),
]


def seed_support(session: Session) -> dict[str, int]:
    """Demo teams with members, the intent routing map and shared canned replies."""
    teams: dict[str, Team] = {}
    users = dict(session.execute(select(User.email, User.id)).tuples().all())
    for slug, name, policy, members, intents in DEMO_TEAMS:
        team = session.scalar(select(Team).where(Team.slug == slug))
        if team is None:
            team = Team(slug=slug, name=name, assignment_policy=policy)
            session.add(team)
            session.flush()
            for email in members:
                if email in users:
                    session.add(TeamMember(team_id=team.id, user_id=users[email]))
            for intent in intents:
                routing.save_rule(session, match_field="intent", match_value=intent,
                                  team_id=team.id, priority=None)
        teams[slug] = team
    created = 0
    for shortcut, title, body, team_slug in DEMO_CANNED:
        team_id = teams[team_slug].id if team_slug else None
        exists = session.scalar(select(CannedResponse.id).where(
            CannedResponse.shortcut == shortcut, CannedResponse.owner_id.is_(None)))
        if exists is None:
            session.add(CannedResponse(shortcut=shortcut, title=title, body=body,
                                       team_id=team_id))
            created += 1
    session.flush()
    return {"teams": len(teams), "canned_responses_created": created}
