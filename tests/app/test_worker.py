"""Celery over real brokers: the embedded SQLAlchemy/SQLite transport and Redis.

Publishing an article commits, the rebuild task is sent only after the commit, a real
worker picks it up from the broker and the on-disk index then answers for the article.
"""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker

from core.database import session_scope
from core.tasks import enqueue_after_commit
from tests.conftest import configure

REDIS_URL = "redis://127.0.0.1:6379/15"


def _article(slug: str) -> dict:
    return {"slug": slug, "title": "Do you ship to Antarctica research stations?",
            "category": "shipping", "tags": [], "locale": "en",
            "alternative_questions": ["deliveries to the south pole"],
            "body": "Yes, twice a year, by arrangement with the station's logistics office."}


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_publishing_an_article_reindexes_through_the_worker(db_url, tmp_path, broker):
    from app.worker import create_celery
    from knowledge_base import articles, retrieval

    broker_url = f"sqla+sqlite:///{tmp_path / 'broker.db'}" if broker == "embedded" else REDIS_URL
    configure(TANDEM_BROKER_URL=broker_url, TANDEM_RESULT_BACKEND="cache+memory://")
    celery = create_celery()
    if broker == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    slug = f"antarctica-{uuid.uuid4().hex[:6]}"
    try:
        with start_worker(celery, pool="solo", perform_ping_check=False,
                          shutdown_timeout=30):
            with session_scope() as session:
                articles.upsert_published(session, _article(slug))
            deadline = time.monotonic() + 90
            hits = []
            while time.monotonic() < deadline:
                hits = retrieval.search("can you deliver to a research station in Antarctica")
                if hits and hits[0].slug == slug:
                    break
                time.sleep(0.5)
            assert hits and hits[0].slug == slug
    finally:
        from app.worker import celery_app

        configure(TANDEM_BROKER_URL="", TANDEM_RESULT_BACKEND="")
        celery_app.set_current()  # the process-wide app again, for later tests
        celery_app.set_default()


class _RecordingTask:
    name = "recording"

    def __init__(self):
        self.sent = []

    def apply_async(self, args=(), kwargs=None, **options):
        self.sent.append(args)


def test_tasks_are_sent_after_commit_and_never_after_rollback(db_url):
    # A recording stand-in for a task: this checks our commit hook, not Celery.
    task = _RecordingTask()
    with session_scope() as session:
        enqueue_after_commit(session, task, 1)
        enqueue_after_commit(session, task, 1)  # duplicates collapse
        assert task.sent == []
    assert task.sent == [(1,)]

    def failing_request():
        with session_scope() as session:
            enqueue_after_commit(session, task, 2)
            raise RuntimeError("request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    assert task.sent == [(1,)]


def test_redis_never_redelivers_a_task_that_may_still_be_running():
    from app.worker import celery_app, create_celery

    celery_app.loader.import_default_modules()
    limits = {name: task.time_limit for name, task in celery_app.tasks.items()
              if not name.startswith("celery.")}
    assert "training.train_model" in limits and "email.send" in limits
    configure(TANDEM_BROKER_URL=REDIS_URL)
    try:
        timeout = create_celery().conf.broker_transport_options["visibility_timeout"]
    finally:
        configure(TANDEM_BROKER_URL="")
        celery_app.set_current()
        celery_app.set_default()
    assert all(limit is not None and limit < timeout for limit in limits.values()), limits
    # The embedded transport hands its options to create_engine, which refuses this one.
    assert "visibility_timeout" not in create_celery().conf.broker_transport_options
    celery_app.set_current()
    celery_app.set_default()
