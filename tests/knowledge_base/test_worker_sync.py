"""Publish and archive through a real Celery worker on real brokers: the incremental
sync task is sent after commit and the index answers (or stops answering) within seconds."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from core.database import session_scope
from knowledge_base import retrieval, service
from knowledge_base.models import ArticleStatus
from tests.conftest import configure

REDIS_URL = "redis://127.0.0.1:6379/14"
QUERY = "can you deliver to a research station in Antarctica"


def _wait_for(predicate, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def _top_slug() -> str | None:
    hits = retrieval.search(QUERY, k=1)
    return hits[0].slug if hits else None


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_publish_then_archive_through_the_worker(db_url, tmp_path, private_index, broker):
    from app.worker import create_celery

    broker_url = f"sqla+sqlite:///{tmp_path / 'broker.db'}" if broker == "embedded" else REDIS_URL
    configure(TANDEM_BROKER_URL=broker_url, TANDEM_RESULT_BACKEND="cache+memory://")
    celery = create_celery()
    if broker == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    try:
        with session_scope() as s:
            other = service.create_article(s, service.ArticleInput(
                title="Shipping to Canada", body="Five to eight business days.",
                category="shipping"), None, status=ArticleStatus.PUBLISHED).id
            article = service.create_article(s, service.ArticleInput(
                title="Do you ship to Antarctica research stations?", category="shipping",
                body="Yes, twice a year, by arrangement with the station's logistics office.",
                alternative_questions=["deliveries to the south pole"]), None).id
        with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            assert _wait_for(lambda: _top_slug() == "shipping-to-canada")
            with session_scope() as s:
                service.change_status(s, article, ArticleStatus.PUBLISHED, 1, None)
            assert _wait_for(lambda: _top_slug() == "do-you-ship-to-antarctica-research-stations")
            with session_scope() as s:
                service.change_status(s, article, ArticleStatus.ARCHIVED, 2, None)
            assert _wait_for(lambda: _top_slug() == "shipping-to-canada")
        assert other
    finally:
        from app.worker import celery_app

        configure(TANDEM_BROKER_URL="", TANDEM_RESULT_BACKEND="")
        # The process-wide app again (current and default), so later tests' tasks bind to it.
        celery_app.set_current()
        celery_app.set_default()
