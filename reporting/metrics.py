"""Report figures: SQL aggregates over the fact roll-ups (reporting.facts).

Each metric has one definition, written in docs/metrics.md and implemented by
`reporting.derive`; this module only adds the derived rows up, under the caller's filters
and scope. `catalogue` names every drill-down key and the rows behind it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from core.auth.models import User
from core.database import utcnow
from handoff.models import Team
from knowledge_base.models import KnowledgeGap
from nlu.pii import mask_text
from reporting import derive
from reporting.access import Scope
from reporting.facts import ConversationFact, EpisodeFact, StintFact
from reporting.filters import ReportFilters
from reporting.schemas import (
    AgentsReport,
    AppliedFilters,
    BotReport,
    CsatFigures,
    Duration,
    Figure,
    HeatCell,
    PerformanceRow,
    ReportMeta,
    TeamsReport,
    UnansweredQuery,
    Unit,
    VolumeBucket,
    VolumeReport,
)

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NONE_KEY = "none"  # the drill-down value of "no team" / "nobody"
ACTIVE_TICKET_STATES = ("new", "open", "pending", "on_hold")
TOP_INTENTS = 15
TOP_UNANSWERED = 15
CSAT_SCORES = (1, 2, 3, 4, 5)
MEDIAN_DURATIONS = ("first_response", "resolution")
FactTable = type[ConversationFact] | type[EpisodeFact] | type[StintFact]


def meta(filters: ReportFilters, scope: Scope, pending: int = 0) -> ReportMeta:
    return ReportMeta(filters=AppliedFilters(**filters.as_dict()), generated_at=utcnow(),
                      pending_refresh=pending, team_scope=scope.sorted_teams())


def figure(metric: str, label: str, amount: float | None, conversations: int,
           value: str | None = None, unit: Unit = "count") -> Figure:
    return Figure(metric=metric, value=value, label=label, amount=amount, unit=unit,
                  conversations=conversations)


def percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# --- filters and scope, one predicate per fact table ----------------------------------------


def where(table: FactTable, filters: ReportFilters, scope: Scope, *,
          dated: bool = True) -> list[ColumnElement[bool]]:
    """The report filters on one fact table. Dates are the conversation's creation date."""
    clauses: list[ColumnElement[bool]] = []
    if dated:
        clauses += [table.created_at >= filters.starts_at, table.created_at < filters.ends_before]
    if filters.channel:
        clauses.append(table.channel == filters.channel)
    if filters.team_id is not None:
        clauses.append(table.team_id == filters.team_id)
    if filters.agent_id is not None:
        clauses.append(table.agent_id == filters.agent_id)
    if filters.priority:
        clauses.append(table.priority == filters.priority)
    if filters.intent:
        clauses.append(table.intent == filters.intent)
    if scope.team_ids is not None:
        clauses.append(or_(table.team_id.is_(None), table.team_id.in_(scope.team_ids)))
    if scope.only_agent_id is not None:
        clauses.append(table.agent_id == scope.only_agent_id)
    return clauses


def _id_value(value: str | None, field_name: str = "value") -> int | None:
    from core.errors import ValidationFailed

    if value is None or value == NONE_KEY:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(f"{field_name} must be an id or '{NONE_KEY}'",
                               field=field_name) from None


def _team_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Team.id, Team.name)).tuples().all())


def _agent_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name)
                                .where(User.id.in_(ids))).tuples().all())


# --- volume -----------------------------------------------------------------------------------


def volume_report(session: Session, filters: ReportFilters, scope: Scope,
                  pending: int = 0) -> VolumeReport:
    f = ConversationFact
    clauses = where(f, filters, scope)
    zone = filters.zone
    by_bucket = session.execute(
        select(f.created_bucket, func.count(), func.sum(f.messages),
               func.sum(f.customer_messages))
        .where(*clauses).group_by(f.created_bucket)).tuples().all()
    conv: Counter[tuple[str, Any]] = Counter()
    msgs: Counter[tuple[str, Any]] = Counter()
    total = sum(row[1] for row in by_bucket)
    messages = sum(int(row[2] or 0) for row in by_bucket)
    customer = sum(int(row[3] or 0) for row in by_bucket)
    for slot, count, n_messages, _ in by_bucket:
        local = derive.bucket_start(slot).astimezone(zone)
        slot_keys: tuple[tuple[str, Any], ...] = (
            ("day", local.date().isoformat()), ("hour", local.hour),
            ("heat", (local.weekday(), local.hour)))
        for slot_key in slot_keys:
            conv[slot_key] += count
            msgs[slot_key] += int(n_messages or 0)
    for column, kind in ((f.channel, "channel"), (f.team_id, "team")):
        for group_key, count, n in session.execute(
                select(column, func.count(), func.sum(f.messages))
                .where(*clauses).group_by(column)).tuples():
            conv[(kind, group_key)], msgs[(kind, group_key)] = count, int(n or 0)
    backlog = dict(session.execute(
        select(f.ticket_status, func.count())
        .where(*where(f, filters, scope, dated=False),
               f.ticket_status.in_(ACTIVE_TICKET_STATES))
        .group_by(f.ticket_status)).tuples().all())
    teams = _team_names(session)

    def bucket(kind: str, key: Any, value: str, label: str, metric: str) -> VolumeBucket:
        n = conv[(kind, key)]
        return VolumeBucket(key=value, label=label,
                            conversations=figure(metric, label, n, n, value),
                            messages=figure(metric, label, msgs[(kind, key)], n, value))

    channels = sorted(c for kind, c in conv if kind == "channel")
    team_keys = sorted((t for kind, t in conv if kind == "team"),
                       key=lambda t: (t is None, teams.get(t, "") if t is not None else ""))
    return VolumeReport(
        meta=meta(filters, scope, pending),
        conversations=figure("volume.conversations", "Conversations", total, total),
        messages=figure("volume.conversations", "Messages", messages, total),
        customer_messages=figure("volume.conversations", "Customer messages", customer, total),
        by_channel=[bucket("channel", c, c, c, "volume.channel") for c in channels],
        by_team=[bucket("team", t, str(t) if t is not None else NONE_KEY,
                        teams.get(t, f"Team {t}") if t is not None else "No team",
                        "volume.team") for t in team_keys],
        by_day=[bucket("day", d.isoformat(), d.isoformat(), d.isoformat(), "volume.day")
                for d in filters.days()],
        by_hour=[bucket("hour", h, str(h), f"{h:02d}:00", "volume.hour") for h in range(24)],
        heatmap=[HeatCell(weekday=w, hour=h, conversations=figure(
            "volume.heatmap", f"{WEEKDAY_NAMES[w]} {h:02d}:00", conv[("heat", (w, h))],
            conv[("heat", (w, h))], f"{w}:{h}")) for w in range(7) for h in range(24)],
        backlog=[figure("volume.backlog", s.replace("_", " "), backlog.get(s, 0),
                        backlog.get(s, 0), s) for s in ACTIVE_TICKET_STATES],
    )


# --- bot ------------------------------------------------------------------------------------


def bot_report(session: Session, filters: ReportFilters, scope: Scope, pending: int = 0
               ) -> BotReport:
    c, e = ConversationFact, EpisodeFact

    def total_and_conversations(column: Any) -> tuple[Any, Any]:
        return (func.coalesce(func.sum(column), 0),
                func.coalesce(func.sum(case((column > 0, 1), else_=0)), 0))

    columns = (c.episodes_n, c.contained_n, c.handed_off_n, c.no_reply_n, c.clarified_n,
               c.kb_helpful, c.kb_not_helpful, c.gaps)
    row = session.execute(select(*(part for column in columns
                                   for part in total_and_conversations(column)))
                          .where(*where(c, filters, scope))).one()
    (episodes, all_conversations, contained, contained_conv, handed_off, handed_off_conv,
     no_reply, no_reply_conv, clarified, clarified_conversations, helpful_n, helpful_conv,
     not_helpful_n, not_helpful_conv, gaps_total, gaps_conversations) = (int(v) for v in row)
    by_outcome = {derive.CONTAINED: contained, derive.HANDED_OFF: handed_off,
                  derive.NO_REPLY: no_reply}
    distinct = {derive.CONTAINED: contained_conv, derive.HANDED_OFF: handed_off_conv,
                derive.NO_REPLY: no_reply_conv}
    clauses = where(e, filters, scope)
    reasons = session.execute(
        select(e.reason, func.count(), func.count(e.conversation_id.distinct()))
        .where(*clauses, e.outcome == derive.HANDED_OFF).group_by(e.reason)
        .order_by(func.count().desc(), e.reason)).tuples().all()
    intents = session.execute(
        select(e.intent, func.count(), func.count(e.conversation_id.distinct()))
        .where(*clauses, e.intent.is_not(None)).group_by(e.intent)
        .order_by(func.count().desc(), e.intent).limit(TOP_INTENTS)).tuples().all()
    top = _unanswered(session, filters, scope)
    labels = {derive.CONTAINED: "Contained by the bot", derive.HANDED_OFF: "Handed off",
              derive.NO_REPLY: "No bot reply"}

    def outcome_figure(outcome: str) -> Figure:
        return figure(f"bot.{outcome}", labels[outcome], by_outcome[outcome],
                      distinct.get(outcome, 0))

    helpful, not_helpful = (helpful_n, helpful_conv), (not_helpful_n, not_helpful_conv)
    return BotReport(
        meta=meta(filters, scope, pending),
        episodes=figure("bot.episodes", "Bot episodes", episodes, all_conversations),
        contained=outcome_figure(derive.CONTAINED),
        handed_off=outcome_figure(derive.HANDED_OFF),
        no_reply=outcome_figure(derive.NO_REPLY),
        containment_rate=figure("bot.contained", "Containment rate",
                                percent(by_outcome[derive.CONTAINED], episodes),
                                distinct.get(derive.CONTAINED, 0), unit="percent"),
        handoff_rate=figure("bot.handed_off", "Hand-off rate",
                            percent(by_outcome[derive.HANDED_OFF], episodes),
                            distinct.get(derive.HANDED_OFF, 0), unit="percent"),
        clarify_rate=figure("bot.clarified", "Episodes with a clarifying question",
                            percent(clarified, episodes), clarified_conversations,
                            unit="percent"),
        outcomes=[outcome_figure(o) for o in derive.OUTCOMES],
        handoff_by_reason=[figure("bot.handed_off", reason or "unknown", count, conversations,
                                  reason or NONE_KEY)
                           for reason, count, conversations in reasons],
        top_intents=[figure("bot.intent", intent or "unknown", count, conversations, intent)
                     for intent, count, conversations in intents],
        kb_helpful=figure("bot.kb_rating", "Rated helpful", helpful[0], helpful[1], "helpful"),
        kb_not_helpful=figure("bot.kb_rating", "Rated not helpful", not_helpful[0],
                              not_helpful[1], "not_helpful"),
        kb_helpful_rate=figure("bot.kb_rating", "Helpful share of rated answers",
                               percent(helpful[0], helpful[0] + not_helpful[0]),
                               helpful[1], "helpful", unit="percent"),
        unanswered=figure("bot.unanswered", "Unanswered queries", gaps_total,
                          gaps_conversations),
        top_unanswered=[UnansweredQuery(query=q if scope.pii else mask_text(q), figure=fig)
                        for q, fig in top],
    )


def _unanswered(session: Session, filters: ReportFilters, scope: Scope
                ) -> list[tuple[str, Figure]]:
    """The most asked unanswered questions of the range's conversations."""
    g, c = KnowledgeGap, ConversationFact
    rows = session.execute(
        select(func.min(g.id), func.min(g.query), func.count(),
               func.count(g.conversation_id.distinct()))
        .join(c, c.conversation_id == g.conversation_id)
        .where(*where(c, filters, scope)).group_by(func.lower(g.query))
        .order_by(func.count().desc(), func.min(g.id)).limit(TOP_UNANSWERED)).tuples().all()
    return [(query, figure("bot.unanswered", "Asked", count, distinct, str(gap_id)))
            for gap_id, query, count, distinct in rows]


# --- teams and agents -----------------------------------------------------------------------


def _per_conversation(s: type[StintFact], business: bool, replies: Any) -> list[Any]:
    """Sums over one group's stints of one conversation (the inner step of `_aggregated`)."""
    first = s.first_response_bs if business else s.first_response_s
    nxt = s.next_response_bs if business else s.next_response_s
    resolution = s.resolution_bs if business else s.resolution_s
    handle = s.handle_bs if business else s.handle_s

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return [
        func.sum(replies).label("replies"),
        count_if(s.first_response_at.is_(None)).label("unanswered"),
        func.count(first).label("fr_n"), func.sum(first).label("fr_sum"),
        func.sum(s.next_response_n).label("nr_n"),
        func.sum(case((s.next_response_n > 0, nxt), else_=0.0)).label("nr_sum"),
        count_if(s.resolved.is_(True)).label("resolved"),
        func.sum(resolution).label("res_sum"),
        func.count(handle).label("handle_n"), func.sum(handle).label("handle_sum"),
        count_if(s.sla_measured.is_(True)).label("sla"),
        count_if(s.sla_breached.is_(True)).label("breached"),
        count_if(s.reopened.is_(True)).label("reopened"),
        count_if(s.fcr.is_(True)).label("fcr"),
        count_if(s.final_solve.is_(True)).label("final"),
        func.count(s.csat_score).label("csat_n"),
        func.sum(cast(s.csat_score, Float)).label("csat_sum"),
        *(count_if(s.csat_score == score).label(f"csat_{score}") for score in CSAT_SCORES),
    ]


def _aggregated(session: Session, s: type[StintFact], clauses: list[Any], group: Any | None,
                business: bool, replies: Any) -> dict[Any, tuple[Any, ...]]:
    """Each group's figures in one pass: stints are first summed per (group, conversation),
    so every "how many conversations" is a plain count of those rows (no DISTINCT)."""
    keys = [group.label("key")] if group is not None else []
    inner = (select(*keys, s.conversation_id, *_per_conversation(s, business, replies))
             .where(*clauses).group_by(*keys, s.conversation_id).subquery())
    i = inner.c

    def total(column: Any) -> Any:
        return func.coalesce(func.sum(column), 0)

    def conversations_with(column: Any) -> Any:
        return func.coalesce(func.sum(case((column > 0, 1), else_=0)), 0)

    outer = [func.count(), total(i.replies), conversations_with(i.replies),
             total(i.unanswered), conversations_with(i.unanswered),
             total(i.fr_n), total(i.fr_sum), conversations_with(i.fr_n),
             total(i.nr_n), total(i.nr_sum), conversations_with(i.nr_n),
             total(i.resolved), total(i.res_sum), conversations_with(i.resolved),
             total(i.handle_n), total(i.handle_sum),
             total(i.sla), conversations_with(i.sla), total(i.breached),
             conversations_with(i.breached), total(i.reopened), conversations_with(i.reopened),
             total(i.fcr), conversations_with(i.fcr), total(i.final),
             total(i.csat_n), total(i.csat_sum), conversations_with(i.csat_n),
             *(total(i[f"csat_{score}"]) for score in CSAT_SCORES),
             *(conversations_with(i[f"csat_{score}"]) for score in CSAT_SCORES)]
    query = select(i.key, *outer).group_by(i.key) if group is not None else select(*outer)
    result: dict[Any, tuple[Any, ...]] = {}
    for row in session.execute(query):
        key, raw = (row[0], row[1:]) if group is not None else ("__all__", row)
        # PostgreSQL sums integers as NUMERIC: plain numbers from here on.
        v = [int(x) if isinstance(x, Decimal) and x == x.to_integral_value()
             else float(x) if isinstance(x, Decimal) else x for x in raw]
        (handled, replies_n, replies_conv, unanswered, unanswered_conv, fr_n, fr_sum, fr_conv,
         nr_n, nr_sum, nr_conv, resolved, res_sum, res_conv, handle_n, handle_sum, sla_n,
         sla_conv, breached, breached_conv, reopened, reopened_conv, fcr, fcr_conv, final,
         csat_n, csat_sum, csat_conv) = v[:28]
        scores = Counter(dict(zip(CSAT_SCORES, v[28:33], strict=True)))
        score_conversations = Counter(dict(zip(CSAT_SCORES, v[33:38], strict=True)))

        def mean(amount: Any, count: Any) -> float | None:
            return float(amount) / count if count else None

        result[key] = (handled, replies_n, replies_conv, unanswered, unanswered_conv, fr_n,
                       mean(fr_sum, fr_n), fr_conv, nr_n, float(nr_sum), nr_conv, resolved,
                       mean(res_sum, resolved), res_conv, mean(handle_sum, handle_n), sla_n,
                       sla_conv, breached, breached_conv, reopened, reopened_conv, fcr,
                       fcr_conv, final, csat_n, mean(csat_sum, csat_n), csat_conv,
                       (scores, score_conversations))
    return result


def _medians(session: Session, group: Any | None, clauses: list[Any],
             columns: dict[str, Any]) -> dict[str, dict[Any, float]]:
    """Exact medians per group (or over everything, key "__all__"), ranked by the database
    in one read: only the one or two middle values of each group come back."""
    key = group.label("key") if group is not None else literal("__all__").label("key")
    ranks = []
    for name, column in columns.items():
        # Ranked among the group's measured stints only (nulls form a partition of their own).
        partition = [column.is_(None)] if group is None else [group, column.is_(None)]
        ranks += [column.label(f"{name}_v"),
                  func.row_number().over(partition_by=partition, order_by=column)
                  .label(f"{name}_rn"),
                  func.count(column).over(partition_by=[group] if group is not None else None)
                  .label(f"{name}_n")]
    ranked = select(key, *ranks).where(*clauses).subquery()
    r = ranked.c

    def middle(name: str) -> Any:
        rn, n, v = r[f"{name}_rn"], r[f"{name}_n"], r[f"{name}_v"]
        return and_(v.is_not(None), or_(rn == (n + 1) / 2, rn == (n + 2) / 2))

    names = list(columns)
    query = select(r.key, *(case((middle(name), r[f"{name}_v"])) for name in names)).where(
        or_(*(middle(name) for name in names)))
    picked: dict[str, dict[Any, list[float]]] = {name: defaultdict(list) for name in names}
    for row in session.execute(query):
        for name, value in zip(names, row[1:], strict=True):
            if value is not None:
                picked[name][row[0]].append(float(value))
    return {name: {k: sum(v) / len(v) for k, v in by_key.items()}
            for name, by_key in picked.items()}


def _performance(session: Session, filters: ReportFilters, scope: Scope, *, by_agent: bool
                 ) -> tuple[list[PerformanceRow], PerformanceRow | None]:
    """The rows per team (or agent) and, for teams, the row over all of them."""
    s = StintFact
    business = filters.business_hours
    clauses = where(s, filters, scope)
    group = s.agent_id if by_agent else s.team_id
    replies = s.agent_replies if by_agent else s.replies
    rows = _aggregated(session, s, clauses, group, business, replies)
    with_total = not by_agent  # the agents report has no "all agents" row
    total = (_aggregated(session, s, clauses, None, business, replies).get("__all__")
             if with_total else None)
    suffix = "bs" if business else "s"
    # Medians of the two durations people compare teams by, per row (not over all rows:
    # each ranking is a sort of every stint, and the dashboards must answer within a second).
    measured = {name: getattr(s, f"{name}_{suffix}") for name in MEDIAN_DURATIONS}
    medians = _medians(session, group, clauses, measured)
    kind = "agent" if by_agent else "team"
    names = (_agent_names(session, {k for k in rows if k is not None}) if by_agent
             else _team_names(session))
    none_name = "Nobody" if by_agent else "No team"
    out = [_row(kind, key, names.get(key, f"#{key}") if key is not None else none_name,
                values, {n: m.get(key) for n, m in medians.items()}, business)
           for key, values in rows.items()]
    out.sort(key=lambda r: (r.id is None, r.name.lower()))
    if total is None:
        return out, None
    total_row = _row(kind, "__all__", "All teams" if not by_agent else "All agents", total,
                     {n: m.get("__all__") for n, m in medians.items()}, business)
    return out, total_row


def _row(kind: str, key: Any, name: str, v: Any,
         medians: dict[str, float | None], business: bool) -> PerformanceRow:
    (handled, replies, replies_conv, unanswered, unanswered_conv, fr_n, fr_avg, fr_conv,
     nr_n, nr_sum, nr_conv, resolved, res_avg, res_conv, handle_avg, sla_n, sla_conv,
     breached, breached_conv, reopened, reopened_conv, fcr, fcr_conv, final_solves,
     csat_n, csat_avg, csat_conv, (scores, score_conversations)) = v
    value = None if key == "__all__" else (str(key) if key is not None else NONE_KEY)
    m = f"{kind}."

    def duration(metric: str, label: str, samples: int, average: float | None,
                 median: float | None, conversations: int) -> Duration:
        return Duration(metric=m + metric, value=value, label=label, samples=samples,
                        average_seconds=round(average, 1) if average is not None else None,
                        median_seconds=round(median, 1) if median is not None else None,
                        business_hours=business, conversations=conversations)

    return PerformanceRow(
        id=key if isinstance(key, int) else None, name=name,
        handled=figure(m + "handled", "Conversations handled", handled, handled, value),
        replies=figure(m + "replies", "Replies", replies, replies_conv, value),
        unanswered=figure(m + "unanswered", "Without an agent reply", unanswered,
                          unanswered_conv, value),
        first_response=duration("first_response", "First response", fr_n, fr_avg,
                                medians.get("first_response"), fr_conv),
        next_response=duration("next_response", "Next response", nr_n,
                               nr_sum / nr_n if nr_n else None, None, nr_conv),
        resolution=duration("resolution", "Resolution", resolved, res_avg,
                            medians.get("resolution"), res_conv),
        handle_time=duration("resolved", "Handle time", resolved, handle_avg,
                             medians.get("handle"), res_conv),
        resolved=figure(m + "resolved", "Resolved", resolved, res_conv, value),
        sla_measured=figure(m + "sla_measured", "With an SLA", sla_n, sla_conv, value),
        sla_breached=figure(m + "sla_breached", "SLA breached", breached, breached_conv, value),
        sla_compliance=figure(m + "sla_breached", "SLA compliance",
                              percent(sla_n - breached, sla_n), breached_conv, value,
                              unit="percent"),
        reopened=figure(m + "reopened", "Reopened", reopened, reopened_conv, value),
        reopen_rate=figure(m + "reopened", "Reopen rate", percent(reopened, resolved),
                           reopened_conv, value, unit="percent"),
        fcr=figure(m + "fcr", "First-contact resolutions", fcr, fcr_conv, value),
        fcr_rate=figure(m + "fcr", "First-contact resolution rate", percent(fcr, resolved),
                        fcr_conv, value, unit="percent"),
        csat=CsatFigures(
            average=figure(m + "csat", "CSAT", round(csat_avg, 2) if csat_avg else None,
                           csat_conv, value, unit="score"),
            responses=figure(m + "csat", "Ratings", csat_n, csat_conv, value),
            response_rate=figure(m + "csat", "Rating response rate",
                                 percent(csat_n, final_solves), csat_conv, value,
                                 unit="percent"),
            distribution=[figure(m + "csat_score", f"{score} stars", scores.get(score, 0),
                                 score_conversations.get(score, 0), f"{value or 'all'}:{score}")
                          for score in range(1, 6)]),
    )


def teams_report(session: Session, filters: ReportFilters, scope: Scope,
                 pending: int = 0) -> TeamsReport:
    rows, total = _performance(session, filters, scope, by_agent=False)
    assert total is not None
    return TeamsReport(meta=meta(filters, scope, pending), total=total, teams=rows)


def agents_report(session: Session, filters: ReportFilters, scope: Scope,
                  pending: int = 0) -> AgentsReport:
    rows, _ = _performance(session, filters, scope, by_agent=True)
    return AgentsReport(meta=meta(filters, scope, pending), agents=rows)


# --- the drill-down catalogue ---------------------------------------------------------------

Predicate = Callable[[str | None, ReportFilters], ColumnElement[bool]]


def _local_day(value: str | None, filters: ReportFilters) -> ColumnElement[bool]:
    from core.errors import ValidationFailed
    from reporting.filters import local_midnight

    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        raise ValidationFailed("value must be a date in YYYY-MM-DD form", field="value") from None
    start = local_midnight(day, filters.zone)
    end = local_midnight(date.fromordinal(day.toordinal() + 1), filters.zone)
    return and_(ConversationFact.created_at >= start, ConversationFact.created_at < end)


def _local_buckets(filters: ReportFilters, keep: Callable[[int, int], bool]) -> list[int]:
    """The 15-minute buckets of the range whose local weekday and hour pass `keep`."""
    first = derive.bucket_of(filters.starts_at)
    last = derive.bucket_of(filters.ends_before)
    zone = filters.zone
    chosen = []
    for bucket in range(first, last):
        local = derive.bucket_start(bucket).astimezone(zone)
        if keep(local.weekday(), local.hour):
            chosen.append(bucket)
    return chosen


def _int_in(value: str | None, low: int, high: int, name: str = "value") -> int:
    from core.errors import ValidationFailed

    try:
        number = int(value or "")
    except ValueError:
        number = -1
    if not low <= number <= high:
        raise ValidationFailed(f"{name} must be a whole number from {low} to {high}",
                               field="value")
    return number


def _hour(value: str | None, filters: ReportFilters) -> ColumnElement[bool]:
    hour = _int_in(value, 0, 23)
    return ConversationFact.created_bucket.in_(_local_buckets(filters, lambda _w, h: h == hour))


def _heat(value: str | None, filters: ReportFilters) -> ColumnElement[bool]:
    from core.errors import ValidationFailed

    parts = (value or "").split(":")
    if len(parts) != 2:
        raise ValidationFailed("value must be 'weekday:hour', e.g. '0:14'", field="value")
    weekday, hour = _int_in(parts[0], 0, 6), _int_in(parts[1], 0, 23)
    return ConversationFact.created_bucket.in_(
        _local_buckets(filters, lambda w, h: w == weekday and h == hour))


def _equals_or_null(column: Any, value: int | str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _choice(value: str | None, allowed: tuple[str, ...]) -> str:
    from core.errors import ValidationFailed

    if value not in allowed:
        raise ValidationFailed(f"value must be one of {', '.join(allowed)}", field="value")
    return value


def _kb(value: str | None, filters: ReportFilters) -> ColumnElement[bool]:
    helpful = _choice(value, ("helpful", "not_helpful")) == "helpful"
    c = ConversationFact
    return (c.kb_helpful if helpful else c.kb_not_helpful) > 0


def _gap(value: str | None, filters: ReportFilters) -> ColumnElement[bool]:
    g = KnowledgeGap
    if value is None:
        return ConversationFact.gaps > 0
    gap_id = _id_value(value)
    same = select(func.lower(g.query)).where(g.id == gap_id).scalar_subquery()
    return ConversationFact.conversation_id.in_(
        select(g.conversation_id).where(func.lower(g.query) == same))


def _stint_metric(kind: str, measure: str) -> tuple[FactTable, Predicate]:
    s = StintFact
    conditions: dict[str, Callable[[], ColumnElement[bool]]] = {
        "handled": lambda: true(),
        "replies": lambda: (s.agent_replies if kind == "agent" else s.replies) > 0,
        "unanswered": lambda: s.first_response_at.is_(None),
        "first_response": lambda: s.first_response_at.is_not(None),
        "next_response": lambda: s.next_response_n > 0,
        "resolved": lambda: s.resolved.is_(True),
        "resolution": lambda: s.resolved.is_(True),
        "sla_measured": lambda: s.sla_measured.is_(True),
        "sla_breached": lambda: s.sla_breached.is_(True),
        "reopened": lambda: s.reopened.is_(True),
        "fcr": lambda: s.fcr.is_(True),
        "csat": lambda: s.csat_score.is_not(None),
    }
    column = s.agent_id if kind == "agent" else s.team_id

    def predicate(value: str | None, _filters: ReportFilters) -> ColumnElement[bool]:
        if measure == "csat_score":
            from core.errors import ValidationFailed

            who, _, score = (value or "").rpartition(":")
            if not who:
                raise ValidationFailed("value must be '<id>:<score>' or 'all:<score>'",
                                       field="value")
            by_score = s.csat_score == _int_in(score, 1, 5)
            return by_score if who == "all" else and_(by_score,
                                                      _equals_or_null(column, _id_value(who)))
        base = conditions[measure]()
        if value is None:
            return base
        return and_(base, _equals_or_null(column, _id_value(value)))

    return s, predicate


def _catalogue() -> dict[str, tuple[FactTable, Predicate, str]]:
    c, e = ConversationFact, EpisodeFact
    entries: dict[str, tuple[FactTable, Predicate, str]] = {
        "volume.conversations": (c, lambda v, f: true(), "Conversations"),
        "volume.channel": (c, lambda v, f: c.channel == v, "Conversations by channel"),
        "volume.team": (c, lambda v, f: _equals_or_null(c.team_id, _id_value(v)),
                        "Conversations by team"),
        "volume.day": (c, _local_day, "Conversations of the day"),
        "volume.hour": (c, _hour, "Conversations in the hour"),
        "volume.heatmap": (c, _heat, "Conversations by weekday and hour"),
        "volume.backlog": (c, lambda v, f: c.ticket_status == _choice(v, ACTIVE_TICKET_STATES),
                           "Backlog"),
        "bot.episodes": (e, lambda v, f: true(), "Bot episodes"),
        "bot.contained": (e, lambda v, f: e.outcome == derive.CONTAINED, "Contained"),
        "bot.no_reply": (e, lambda v, f: e.outcome == derive.NO_REPLY, "No bot reply"),
        "bot.handed_off": (e, lambda v, f: and_(e.outcome == derive.HANDED_OFF,
                                                true() if v is None else
                                                _equals_or_null(e.reason, None if v == NONE_KEY
                                                                else v)),
                           "Handed off"),
        "bot.clarified": (e, lambda v, f: e.clarify_turns > 0, "With a clarifying question"),
        "bot.intent": (e, lambda v, f: e.intent == v, "Episodes by intent"),
        "bot.kb_rating": (c, _kb, "Rated answers"),
        "bot.unanswered": (c, _gap, "Unanswered queries"),
    }
    measures = ("handled", "replies", "unanswered", "first_response", "next_response",
                "resolved", "resolution", "sla_measured", "sla_breached", "reopened", "fcr",
                "csat", "csat_score")
    for kind in ("team", "agent"):
        for measure in measures:
            table, predicate = _stint_metric(kind, measure)
            entries[f"{kind}.{measure}"] = (table, predicate,
                                            f"{kind.title()} {measure.replace('_', ' ')}")
    return entries


CATALOGUE = _catalogue()


def conversations_behind(metric: str, value: str | None, filters: ReportFilters,
                         scope: Scope) -> tuple[ColumnElement[bool], str]:
    """A condition on ConversationFact selecting the conversations behind a figure, and the
    figure's label."""
    from core.errors import ValidationFailed

    if metric not in CATALOGUE:
        raise ValidationFailed(f"unknown metric '{metric}'", field="metric",
                               known=sorted(CATALOGUE))
    table, predicate, label = CATALOGUE[metric]
    dated = metric != "volume.backlog"  # the backlog is now, whatever the dates
    condition = and_(*where(table, filters, scope, dated=dated), predicate(value, filters))
    label += f": {value}" if value is not None else ""
    if table is ConversationFact:
        return condition, label
    return (ConversationFact.conversation_id.in_(select(table.conversation_id)
                                                 .where(condition)), label)
