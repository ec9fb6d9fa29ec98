"""Every metric on the hand-built history of tests/reporting/history.py, with the right
answers worked out here by hand; and the roll-ups against a fresh derivation of the raw rows,
before and after a late event."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from reporting import drilldown, facts, metrics
from reporting.access import Scope
from reporting.facts import ConversationFact, EpisodeFact, StintFact
from reporting.filters import ReportFilters
from tests.reporting.history import build_history

EVERYONE = Scope(team_ids=None, pii=True)
NOVEMBER = ReportFilters(start=date(2026, 11, 1), end=date(2026, 11, 30))


@pytest.fixture
def world(session):
    world = build_history(session)
    facts.refresh_all(session)
    return world


def _stored(session) -> dict[str, list[dict]]:
    def rows(table, key):
        return sorted(({c.name: getattr(r, c.key) for c in table.__table__.columns}
                       for r in session.scalars(select(table))), key=key)

    return {"conversations": rows(ConversationFact, lambda r: r["conversation_id"]),
            "episodes": rows(EpisodeFact, lambda r: (r["conversation_id"], r["seq"])),
            "stints": rows(StintFact, lambda r: (r["ticket_id"], r["seq"]))}


def _derived(session) -> dict[str, list[dict]]:
    ids = list(session.scalars(select(ConversationFact.conversation_id)))
    conversations, episodes, stints = [], [], []
    for derived in facts.compute(session, ids):
        conversation, episode_rows, stint_rows = facts.rows_of(derived)
        conversations.append(conversation)
        episodes += episode_rows
        stints += stint_rows
    return {"conversations": sorted(conversations, key=lambda r: r["conversation_id"]),
            "episodes": sorted(episodes, key=lambda r: (r["conversation_id"], r["seq"])),
            "stints": sorted(stints, key=lambda r: (r["ticket_id"], r["seq"]))}


def _row(report, name):
    return next(r for r in report.teams if r.name == name)


def test_volume_counts_conversations_by_their_own_date_in_the_time_zone(session, world):
    report = metrics.volume_report(session, NOVEMBER, EVERYONE)
    assert report.conversations.amount == 9
    # 2 + 5 + 7 + 3 + 2 + 2 + 2 + 1 + 2 messages (C1..C9)
    assert report.messages.amount == 26
    assert {b.key: b.conversations.amount for b in report.by_channel} == {
        "widget": 4, "rest": 4, "email": 1}
    assert {b.label: b.conversations.amount for b in report.by_team} == {
        "Support": 2, "Billing": 4, "No team": 3}  # C4 is Billing's now; C1, C7 and C8 none
    assert next(b for b in report.by_day if b.key == "2026-11-30").conversations.amount == 2
    assert {f.value: f.amount for f in report.backlog} == {
        "new": 1, "open": 0, "pending": 0, "on_hold": 0}  # C5 waits

    tokyo = ReportFilters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz="Asia/Tokyo")
    assert metrics.volume_report(session, tokyo, EVERYONE).conversations.amount == 7
    december_1 = ReportFilters(start=date(2026, 12, 1), end=date(2026, 12, 1), tz="Asia/Tokyo")
    report = metrics.volume_report(session, december_1, EVERYONE)
    assert report.conversations.amount == 2  # C7 at 08:30, C8 at 03:45 on Tuesday in Tokyo
    cells = {(c.weekday, c.hour): c.conversations.amount for c in report.heatmap
             if c.conversations.amount}
    assert cells == {(1, 8): 1, (1, 3): 1}
    kolkata = ReportFilters(start=date(2026, 12, 1), end=date(2026, 12, 1), tz="Asia/Kolkata")
    report = metrics.volume_report(session, kolkata, EVERYONE)
    assert {h.key: h.conversations.amount for h in report.by_hour if h.conversations.amount} \
        == {"0": 1, "5": 1}  # half-hour offset: 18:45Z is 00:15, 23:30Z is 05:00


def test_bot_episodes_have_exactly_one_outcome(session, world):
    report = metrics.bot_report(session, NOVEMBER, EVERYONE)
    assert report.episodes.amount == 8  # C9 came by e-mail: no bot episode
    assert (report.contained.amount, report.handed_off.amount, report.no_reply.amount) == (
        2, 5, 1)
    assert sum(f.amount for f in report.outcomes) == report.episodes.amount
    assert report.containment_rate.amount == 25.0
    assert report.handoff_rate.amount == 62.5
    # C6 was solved by an agent who never replied: handed off, never contained.
    assert {f.value: f.amount for f in report.handoff_by_reason} == {
        "low_nlu_confidence": 2, "low_kb_score": 1, "customer_request": 1, "frustration": 1}
    assert report.clarify_rate.amount == 12.5
    assert report.top_intents[0].value == "order_status" and report.top_intents[0].amount == 2
    assert report.kb_helpful.amount == 1 and report.kb_not_helpful.amount == 0
    assert report.unanswered.amount == 2 and report.unanswered.conversations == 1


def test_team_figures_in_wall_clock_and_business_hours(session, world):
    wall = metrics.teams_report(session, NOVEMBER, EVERYONE)
    support, billing = _row(wall, "Support"), _row(wall, "Billing")
    # Support holds C2, C3 (twice: before and after the reopen) and C4 until its transfer.
    assert support.handled.amount == 3 and support.replies.amount == 4
    assert support.unanswered.amount == 1  # C4 left for Billing without a reply
    # First response from the hand-off (not the conversation) or the reopen:
    # C2 Fri 14:31Z -> Mon 08:30Z = 237,540 s; C3 Wed 15:00Z -> Fri 09:00Z = 151,200 s;
    # C3 after its reopen 10:00Z -> 10:20Z = 1,200 s.
    assert support.first_response.samples == 3
    assert support.first_response.average_seconds == 129980.0
    assert support.first_response.median_seconds == 151200.0
    assert support.next_response.average_seconds == 1800.0  # C3: 09:10Z -> 09:40Z
    # Resolution: 238,140 + 153,900 + 1,800 s over three solves.
    assert support.resolution.samples == 3 and support.resolution.average_seconds == 131280.0
    assert support.reopened.amount == 1 and support.reopen_rate.amount == 33.3
    assert support.fcr.amount == 1  # C2: one reply, solved, not reopened, not transferred
    assert support.sla_measured.amount == 4 and support.sla_breached.amount == 1
    assert support.sla_compliance.amount == 75.0
    assert support.csat.average.amount == 4.5 and support.csat.responses.amount == 2
    assert support.csat.response_rate.amount == 100.0
    assert [f.amount for f in support.csat.distribution] == [0, 0, 0, 1, 1]

    # Billing's time on C4 starts at the transfer: 10:30Z -> 10:45Z.
    assert billing.handled.amount == 4 and billing.unanswered.amount == 2  # C5, C6
    assert billing.first_response.average_seconds == 1350.0  # C4 900 s, C9 1,800 s
    assert billing.resolution.average_seconds == 1580.0  # C4 1,800, C6 540, C9 2,400
    assert billing.handle_time.average_seconds == 1100.0  # 1,200 + 300 + 1,800
    assert billing.fcr.amount == 1  # C9 only: C4 came by transfer, C6 had no reply
    assert billing.sla_compliance.amount == 100.0
    assert billing.csat.average.amount is None and billing.csat.response_rate.amount == 0.0

    business = metrics.teams_report(
        session, ReportFilters(start=NOVEMBER.start, end=NOVEMBER.end, business_hours=True),
        EVERYONE)
    support = _row(business, "Support")
    # C2 Fri 15:31-17:00 Berlin (89 min) + Mon 09:00-09:30 (30) = 7,140 s, across the weekend;
    # C3 Wed 16:00-17:00 (60) + holiday Thursday + Fri 09:00-10:00 (60) = 7,200 s; 1,200 s.
    assert support.first_response.average_seconds == 5180.0
    assert support.first_response.median_seconds == 7140.0
    assert business.total.first_response.median_seconds is None  # per row only
    # 129 min + 165 min + 30 min of open time.
    assert support.resolution.average_seconds == 6480.0
    assert support.handle_time.average_seconds == 4100.0  # 15 + 160 + 30 min
    assert _row(business, "Billing").first_response.average_seconds == 1350.0  # 24/7


def test_agents_filters_and_scope(session, world):
    report = metrics.agents_report(session, NOVEMBER, EVERYONE)
    rows = {r.id: r for r in report.agents}
    assert rows[world.a1.id].handled.amount == 3 and rows[world.a1.id].replies.amount == 4
    assert rows[world.b1.id].handled.amount == 3 and rows[world.b1.id].resolved.amount == 3
    assert rows[None].name == "Nobody" and rows[None].handled.amount == 1  # C5 waits

    urgent = ReportFilters(start=NOVEMBER.start, end=NOVEMBER.end, priority="high")
    assert [(r.name, r.handled.amount) for r in metrics.teams_report(
        session, urgent, EVERYONE).teams] == [("Billing", 1)]
    mine = Scope(team_ids=frozenset({world.team_a.id}))
    assert [r.name for r in metrics.teams_report(session, NOVEMBER, mine).teams] == ["Support"]
    assert metrics.volume_report(session, NOVEMBER, mine).conversations.amount == 5  # + no team
    only_a1 = Scope(team_ids=None, only_agent_id=world.a1.id)
    assert [r.id for r in metrics.agents_report(session, NOVEMBER, only_a1).agents] == [
        world.a1.id]


def test_every_figure_drills_down_to_exactly_its_conversations(session, world):
    reports = [metrics.volume_report(session, NOVEMBER, EVERYONE),
               metrics.bot_report(session, NOVEMBER, EVERYONE),
               metrics.teams_report(session, NOVEMBER, EVERYONE),
               metrics.agents_report(session, NOVEMBER, EVERYONE)]
    seen: set[tuple[str, str | None]] = set()
    empty_metrics: set[str] = set()
    for report in reports:
        for fig in _figures(report):
            if (fig.metric, fig.value) in seen or (not fig.conversations
                                                   and fig.metric in empty_metrics):
                continue  # one empty bucket per metric is enough
            seen.add((fig.metric, fig.value))
            if not fig.conversations:
                empty_metrics.add(fig.metric)
            page = drilldown.page(session, fig.metric, fig.value, NOVEMBER, EVERYONE,
                                  cursor=None, limit=200)
            assert page.total == fig.conversations == len(page.rows), (fig.metric, fig.value)
    assert len(seen) > 60
    assert {m.split(".")[0] for m, _ in seen} == {"volume", "bot", "team", "agent"}

    page = drilldown.page(session, "team.unanswered", str(world.team_b.id), NOVEMBER,
                          EVERYONE, cursor=None, limit=1)
    second = drilldown.page(session, "team.unanswered", str(world.team_b.id), NOVEMBER,
                            EVERYONE, cursor=page.next_cursor, limit=1)
    assert {page.rows[0].conversation_id, second.rows[0].conversation_id} == {
        world.cid("C5"), world.cid("C6")}
    assert second.next_cursor is None


def _figures(model):
    from pydantic import BaseModel

    from reporting.schemas import Duration, Figure

    if isinstance(model, Figure | Duration):
        yield model
        return
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel) and name != "meta":
                yield from _figures(item)


def test_roll_ups_equal_the_raw_derivation_and_catch_a_late_reopen(session, world):
    assert _stored(session) == _derived(session)
    assert facts.pending_count(session) == 0

    # A late event after the roll-up ran: the customer writes back and C6 reopens.
    b = world.builder
    b.reopen("C6", "11-24 09:00")
    session.flush()
    assert facts.pending_count(session) == 1  # marked by the flush, in the same transaction
    assert _stored(session) != _derived(session)

    assert facts.refresh_if_few(session) == 0
    assert _stored(session) == _derived(session)
    billing = _row(metrics.teams_report(session, NOVEMBER, EVERYONE), "Billing")
    assert billing.reopened.amount == 1
    assert billing.handled.amount == 4 and billing.unanswered.amount == 3  # C6 waits again
    assert metrics.volume_report(session, NOVEMBER, EVERYONE).backlog[1].amount == 1  # open
