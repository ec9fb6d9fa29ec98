"""Worker tasks for tickets. Stable names, time limits, bounded work."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from core.database import session_scope, utcnow
from handoff import escalation, lifecycle

log = logging.getLogger(__name__)


@shared_task(
    name="handoff.scan_sla",
    soft_time_limit=50,
    time_limit=55,
    ignore_result=True,
)
def scan_sla_task() -> dict[str, Any]:
    """Warn about and escalate SLA targets at risk (beat runs it every minute)."""
    with session_scope() as session:
        outcome = escalation.scan(session, utcnow())
    if outcome["near_breach"] or outcome["breached"]:
        log.info("SLA scan: near breach %s, breached %s, %d notifications",
                 outcome["near_breach"], outcome["breached"], outcome["notified"])
    return outcome


@shared_task(name="handoff.close_solved", soft_time_limit=50, time_limit=55,
             ignore_result=True)
def close_solved_task() -> int:
    """Close solved tickets whose reopen window has passed (beat runs it every 10 minutes)."""
    with session_scope() as session:
        closed = lifecycle.close_solved(session, utcnow())
    if closed:
        log.info("closed %d solved tickets past their reopen window", closed)
    return closed
