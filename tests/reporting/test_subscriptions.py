"""Scheduled summary e-mails: subscribe through the API, the beat claims the due period once,
the worker computes the reports' own figures and mails them to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.worker import celery_app
from core.database import session_scope, utcnow
from reporting import subscriptions, tasks
from reporting.models import ReportSubscription
from reporting.seed import seed_traffic
from tests.api_helpers import api_client, login
from tests.channels_email.mail import SmtpCollector
from tests.core.auth_helpers import make_team, user_in_team
from tests.factories import PASSWORD


def test_daily_summary_is_mailed_once_with_the_reports_figures(smtp: SmtpCollector) -> None:
    # Rolled up as it is written. Not eagerly: the demo articles it loads into the empty
    # database would rebuild the search index in-process, which this test does not need.
    celery_app.conf.task_always_eager = False
    seed_traffic(80, 3, seed=3)
    celery_app.conf.task_always_eager = True
    with session_scope() as session:
        analyst = user_in_team(session, "analyst", None)
        email = analyst.email
    with api_client() as client:
        headers = login(client, email, PASSWORD)
        created = client.post("/api/v1/reports/subscriptions", headers=headers,
                              json={"frequency": "daily", "send_hour": 0, "timezone": "UTC"})
        assert created.status_code == 201, created.text
        again = client.post("/api/v1/reports/subscriptions", headers=headers,
                            json={"frequency": "daily"})
        assert again.status_code == 409
        yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
        volume = client.get(f"/api/v1/reports/volume?start={yesterday}&end={yesterday}&tz=UTC",
                            headers=headers).json()

        assert tasks.send_due_summaries() == 1
        assert tasks.send_due_summaries() == 0  # that period is done
        assert len(smtp.messages) == 1
        received = smtp.messages[0]
        assert received.recipients == [email]
        assert received.message["Subject"].startswith("Daily support summary")
        body = received.message.get_content()
        # The e-mail says what the reports page says for the same day.
        conversations = f"{volume['conversations']['amount']:,.0f}"
        assert any(line.split()[:1] == ["Conversations"] and line.split()[-1] == conversations
                   for line in body.splitlines()), body
        assert f"/reports?start={yesterday}&end={yesterday}&tz=UTC" in body

        listed = client.get("/api/v1/reports/subscriptions", headers=headers).json()["items"]
        assert listed[0]["last_period_end"] == yesterday
        gone = client.delete(f"/api/v1/reports/subscriptions/{listed[0]['id']}",
                             headers=headers)
        assert gone.status_code == 204
        assert client.get("/api/v1/reports/subscriptions", headers=headers).json() == {
            "items": []}


def test_bad_subscriptions_are_refused_naming_the_field(db_url: str) -> None:
    with session_scope() as session:
        mine, other = make_team(session, "mine"), make_team(session, "other")
        supervisor = user_in_team(session, "supervisor", mine)
        email, other_id, mine_id = supervisor.email, other.id, mine.id
    with api_client() as client:
        headers = login(client, email, PASSWORD)

        def post(**body: object) -> tuple[int, str]:
            response = client.post("/api/v1/reports/subscriptions", headers=headers,
                                   json={"frequency": "weekly", **body})
            return response.status_code, response.text

        status, text = post(timezone="Mars/Olympus")
        assert status == 422 and "timezone" in text
        status, text = post(send_hour=24)
        assert status == 422 and "send_hour" in text
        status, text = post(frequency="hourly")
        assert status == 422 and "frequency" in text
        status, text = post(team_id=other_id)  # not one of the supervisor's teams
        assert status == 403 and "team_id" in text
        status, _ = post(team_id=mine_id)
        assert status == 201
    with session_scope() as session:
        assert session.query(ReportSubscription).count() == 1


def test_weekly_period_and_due_time() -> None:
    weekly = ReportSubscription(frequency="weekly", timezone="Europe/Berlin", send_hour=8,
                                weekday=0, last_period_end=None)
    monday_early = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)  # 07:30 in Berlin
    monday_late = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    assert subscriptions.period_due(weekly, monday_early) is None
    assert subscriptions.period_due(weekly, monday_late) == (date(2026, 11, 30),
                                                             date(2026, 12, 6))
    weekly.last_period_end = "2026-12-06"
    assert subscriptions.period_due(weekly, monday_late + timedelta(days=3)) is None
    daily = ReportSubscription(frequency="daily", timezone="America/New_York", send_hour=7,
                               weekday=0, last_period_end=None)
    # 03:00 UTC on the 8th is the evening of the 7th in New York: the day before's summary.
    assert subscriptions.period_due(daily, datetime(2026, 12, 8, 3, 0, tzinfo=UTC)) == (
        date(2026, 12, 6), date(2026, 12, 6))
    daily.last_period_end = "2026-12-06"
    # 06:00 in New York: before the send hour.
    assert subscriptions.period_due(daily, datetime(2026, 12, 8, 11, 0, tzinfo=UTC)) is None
    assert subscriptions.period_due(daily, datetime(2026, 12, 8, 13, 0, tzinfo=UTC)) == (
        date(2026, 12, 7), date(2026, 12, 7))
