"""Alerts: a rule fires once per episode, in the console and by e-mail (a real SMTP server),
and sends a recovery notice when the figure is back; the live figures are computed right."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from conversations import service as conversations
from core.database import session_scope, utcnow
from handoff import intake, lifecycle
from handoff.models import Notification, Ticket, TicketEvent
from reporting import alerts, tasks
from reporting.models import AlertEpisode, AlertRule
from tests.api_helpers import api_client, login
from tests.channels_email.mail import SmtpCollector
from tests.core.auth_helpers import make_team, user_in_team
from tests.factories import PASSWORD, make_ticket, principal_of


def _waiting_ticket(team_id: int, minutes_ago: float) -> int:
    with session_scope() as session:
        ticket = make_ticket(session)
        ticket.team_id = team_id
        ticket.created_at = utcnow() - timedelta(minutes=minutes_ago)
        session.flush()
        return ticket.id


def _notices(user_id: int) -> list[tuple[str, str]]:
    with session_scope() as session:
        return [(n.kind, n.text) for n in session.scalars(
            select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.id))]


def test_queue_wait_alert_fires_once_per_episode_and_recovers(smtp: SmtpCollector) -> None:
    with session_scope() as session:
        team, elsewhere = make_team(session, "orders"), make_team(session, "billing")
        supervisor = user_in_team(session, "supervisor", team)
        other_supervisor = user_in_team(session, "supervisor", elsewhere)
        agent = user_in_team(session, "agent", team)
        ids = (team.id, supervisor.id, other_supervisor.id, supervisor.email)
        team_id, supervisor_id, other_id, email = ids
        agent_principal = principal_of(agent)
    with api_client() as client:
        headers = login(client, email, PASSWORD)
        created = client.post("/api/v1/reports/alerts", headers=headers, json={
            "name": "Orders queue too slow", "kind": "queue_wait", "threshold": 30,
            "team_id": team_id})
        assert created.status_code == 201, created.text
        bad = client.post("/api/v1/reports/alerts", headers=headers, json={
            "name": "x", "kind": "queue_wait", "threshold": -1})
        assert bad.status_code == 422 and "threshold" in bad.text
        rule_id = created.json()["id"]

        assert tasks.evaluate_alerts() == 0  # nobody waits
        ticket_id = _waiting_ticket(team_id, minutes_ago=45)
        assert tasks.evaluate_alerts() == 1  # fires: one supervisor of the team
        assert tasks.evaluate_alerts() == 0  # still up: not again
        assert tasks.evaluate_alerts() == 0
        assert [kind for kind, _ in _notices(supervisor_id)] == ["alert"]
        assert _notices(other_id) == []  # another team's supervisor is not bothered
        assert len(smtp.messages) == 1
        assert smtp.messages[0].recipients == [email]
        assert smtp.messages[0].message["Subject"] == "Alert: Orders queue too slow"
        listed = client.get("/api/v1/reports/alerts", headers=headers).json()["items"]
        assert listed[0]["open_episode"]["first_value"] >= 45

        with session_scope() as session:  # an agent takes the ticket: nobody waits now
            lifecycle.claim(session, ticket_id, agent_principal)
        assert tasks.evaluate_alerts() == 1  # the recovery notice
        assert tasks.evaluate_alerts() == 0
        kinds = [kind for kind, _ in _notices(supervisor_id)]
        assert kinds == ["alert", "alert_recovered"]
        assert "back to 0 min" in _notices(supervisor_id)[1][1]
        assert [m.message["Subject"] for m in smtp.messages] == [
            "Alert: Orders queue too slow", "Recovered: Orders queue too slow"]

        _waiting_ticket(team_id, minutes_ago=31)  # a new episode is announced again
        assert tasks.evaluate_alerts() == 1
        episodes = client.get(f"/api/v1/reports/alerts/{rule_id}/episodes",
                              headers=headers).json()["items"]
        assert [e["ended_at"] is None for e in episodes] == [True, False]


def test_live_figures(db_url: str) -> None:
    now = utcnow()
    with session_scope() as session:
        team = make_team(session, "general")
        admin = principal_of(user_in_team(session, "admin", None))
        # A ticket back in the queue after a transfer waits since the transfer.
        moved = make_ticket(session)
        moved.team_id, moved.created_at = team.id, now - timedelta(hours=3)
        moved.claimed_at = now - timedelta(hours=2)
        session.add(TicketEvent(ticket_id=moved.id, action="transfer", before={},
                                after={"team_id": team.id, "status": "new"},
                                created_at=now - timedelta(minutes=20)))
        # Two breaches in the last hour, one of them only a warning, one two hours ago.
        for minutes, state in ((10, "breached"), (20, "near_breach"), (120, "breached")):
            session.add(TicketEvent(ticket_id=moved.id, action="sla", before={},
                                    after={"sla_state": state},
                                    created_at=now - timedelta(minutes=minutes)))
        # Chats: last week 20 with 2 handed off (10%); this hour 10 with 5 (50%) -> 5x.
        for count, handed, age in ((20, 2, timedelta(days=3)), (10, 5, timedelta(minutes=5))):
            for n in range(count):
                conversation, _ = conversations.start_conversation(session, channel="widget")
                conversation.created_at = now - age
                if n < handed:
                    conversations.add_customer_message(session, conversation, "help", None)
                    ticket = intake.hand_off(session, conversation, intake.HandoffSignal(
                        reason="bot_unavailable" if n == 0 and count == 10 else
                        "customer_request"))
                    ticket.created_at = now - age
        session.flush()
        rule = alerts.create_rule(session, admin, alerts.RuleInput(
            name="hand-offs", kind="handoff_rate", threshold=2, min_volume=5))
        assert alerts.longest_queue_wait(session, team.id, now) == pytest.approx(20, abs=0.1)
        assert alerts.sla_breaches(session, None, now - timedelta(hours=1)) == 1
        assert alerts.handoff_rate_vs_usual(session, rule, now) == pytest.approx(5.0)
        assert alerts.bot_unavailable(session, now - timedelta(minutes=10)) == 1
        rule.min_volume = 11  # too few chats this hour to judge
        assert alerts.handoff_rate_vs_usual(session, rule, now) is None
        session.rollback()
    with session_scope() as session:
        assert session.scalar(select(AlertRule.id)) is None
        assert session.scalar(select(AlertEpisode.id)) is None
        assert session.scalar(select(Ticket.id)) is None
