"""The Celery app. Embedded default: kombu's SQLAlchemy transport on a SQLite file.

`TANDEM_BROKER_URL=redis://127.0.0.1:6379/0` (or an amqp:// URL) switches brokers with no
code change.
"""

from __future__ import annotations

from celery import Celery

from bot.channels.email.tasks import on_domain_event as email_on_domain_event
from core import events
from core.settings import Settings, get_settings
from integrations.tasks import on_domain_event
from operations import celery_hooks

TASK_MODULES = ["knowledge_base.tasks", "integrations.tasks", "privacy.tasks",
                "training.tasks",
                "reporting.fact_tasks", "reporting.tasks",
                "handoff.tasks", "bot.channels.email.tasks", "training.candidate_tasks",
                "operations.backup_tasks"]


def visibility_timeout(settings: Settings) -> int:
    # Training's limit is a setting: however high it is set, it stays covered.
    return max(settings.broker_visibility_timeout_seconds,
               settings.training_time_limit_seconds + 600)


def create_celery() -> Celery:
    settings = get_settings()
    app = Celery("tandem", broker=settings.broker_url, backend=settings.result_backend,
                 include=TASK_MODULES)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            # The sweeps: a task lost with a killed worker is redone by them (settings).
            "reconcile-kb-index": {
                "task": "knowledge_base.reconcile_index",
                "schedule": settings.kb_reconcile_seconds,
            },
            "resend-unsent-email": {
                "task": "email.resend_unsent",
                "schedule": settings.email_resend_sweep_seconds,
            },
            "retry-due-webhooks": {
                "task": "integrations.retry_due_webhooks",
                "schedule": 300.0,
            },
            "poll-email-mailbox": {  # returns at once while imap_host is unset
                "task": "email.poll_mailbox",
                "schedule": settings.imap_poll_seconds,
            },
            "scan-sla": {
                "task": "handoff.scan_sla",
                "schedule": 60.0,
            },
            "close-solved-tickets": {
                "task": "handoff.close_solved",
                "schedule": 600.0,
            },
            "refresh-report-facts": {
                "task": "reporting.refresh_facts",
                "schedule": 30.0,
            },
            "reconcile-report-facts": {
                "task": "reporting.reconcile_facts",
                "schedule": 86400.0,
            },
            "send-report-summaries": {
                "task": "reporting.send_due_summaries",
                "schedule": 300.0,
            },
            "evaluate-report-alerts": {
                "task": "reporting.evaluate_alerts",
                "schedule": 60.0,
            },
            "collect-training-candidates": {
                "task": "training.collect_candidates",
                "schedule": 600.0,
            },
        },
        timezone="UTC",
    )
    if settings.backup_interval_hours > 0:  # 0 turns the scheduled backup off
        app.conf.beat_schedule["scheduled-backup"] = {
            "task": "operations.scheduled_backup",
            "schedule": settings.backup_interval_hours * 3600,
        }
    if not settings.broker_url.startswith("sqla+"):  # it hands its options to create_engine
        # Redis hands an unacknowledged task to another worker after this; a task still
        # running must never be started twice (the sweeps recover lost ones sooner).
        app.conf.broker_transport_options = {"visibility_timeout": visibility_timeout(settings)}
    app.set_default()
    return app


celery_app = create_celery()
# Ticket events become signed webhook deliveries (outbox rows in the same transaction).
events.listen(events.ALL_EVENTS, on_domain_event)
# Agent replies, acknowledgements and CSAT links to customers answered by e-mail.
events.listen(events.ALL_EVENTS, email_on_domain_event)
# Request ids carried into tasks, task metrics, the worker's logging (operations/).
celery_hooks.install()
