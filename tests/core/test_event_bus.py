"""The live-event bus: Redis pub/sub between processes (the real local Redis), the in-process
bus's relay endpoint, and the refusal of several api processes without a shared bus."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from core.event_bus import (
    RELAY_SECRET_HEADER,
    ConfigurationError,
    RedisBus,
    check_process_count,
    redis_channel,
)
from core.realtime import Hub, hub
from core.settings import Settings, get_settings
from tests.api_helpers import api_client
from tests.conftest import configure

REDIS_URL = "redis://127.0.0.1:6379/12"


def test_events_published_by_one_process_reach_every_subscribing_process():
    """Two subscribers (two api processes' hubs) and a publisher with a connection of its
    own (the worker): both hubs get every event, in order."""
    topic = f"conversation:{uuid.uuid4()}"
    hubs = [Hub(), Hub()]

    async def scenario() -> list[list[dict]]:
        consumers = [asyncio.create_task(RedisBus(REDIS_URL).run(h.publish)) for h in hubs]
        async with hubs[0].subscribe(topic) as first, hubs[1].subscribe(topic) as second:
            publisher = RedisBus(REDIS_URL)
            for _ in range(100):  # until both subscriptions are live
                publisher.publish([(topic, {"n": -1})])
                await asyncio.sleep(0.02)
                if not first.empty() and not second.empty():
                    break
            for queue in (first, second):
                while not queue.empty():
                    queue.get_nowait()
            # Published from a thread, as after-commit hooks in worker threads do.
            events = [(topic, {"n": n}) for n in range(5)]
            await asyncio.to_thread(publisher.publish, events)
            got = [[await asyncio.wait_for(q.get(), 5) for _ in range(5)] for q in (first, second)]
        for consumer in consumers:
            consumer.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        return got

    got = asyncio.run(scenario())
    assert got == [[{"n": n} for n in range(5)]] * 2


def test_a_redis_that_is_down_does_not_fail_the_publisher():
    RedisBus("redis://127.0.0.1:9/0").publish([("topic", {"n": 1})])  # logs, never raises


def test_the_channel_keeps_deployments_on_different_redis_databases_apart():
    assert redis_channel("redis://127.0.0.1:6379/1") != redis_channel("redis://127.0.0.1:6379/2")
    assert redis_channel("redis://127.0.0.1:6379") == redis_channel("redis://127.0.0.1:6379/0")


def test_several_api_processes_without_a_shared_bus_are_refused():
    with pytest.raises(ConfigurationError, match="TANDEM_EVENTS_URL"):
        check_process_count(Settings(api_workers=2, events_url=""))
    check_process_count(Settings(api_workers=2, events_url=REDIS_URL))
    check_process_count(Settings(api_workers=1, events_url=""))


def test_create_app_refuses_two_workers_on_the_in_process_bus(db_url):
    configure(TANDEM_API_WORKERS="2")
    try:
        from app.main import create_app

        with pytest.raises(ConfigurationError, match="TANDEM_EVENTS_URL"):
            create_app()
    finally:
        configure(TANDEM_API_WORKERS="1")


def test_the_worker_hands_its_events_to_the_api_through_the_relay(db_url):
    """Embedded default: the worker has no sockets; the api's relay endpoint takes its events
    (with the data directory's secret) and delivers them to the api's subscribers."""
    topic = f"conversation:{uuid.uuid4()}"
    body = {"events": [{"topic": topic, "payload": {"type": "ticket.updated", "ticket_id": 7}}]}
    with api_client() as client:
        assert client.post("/internal/events", json=body).status_code == 401
        assert client.post("/internal/events", json=body,
                           headers={RELAY_SECRET_HEADER: "wrong"}).status_code == 401
        bad = client.post("/internal/events", json={"events": [{"topic": ""}]},
                          headers={RELAY_SECRET_HEADER: get_settings().relay_secret()})
        assert bad.status_code == 422

        async def scenario() -> tuple[int, dict]:
            async with hub.subscribe(topic) as queue:
                response = await asyncio.to_thread(
                    client.post, "/internal/events", json=body,
                    headers={RELAY_SECRET_HEADER: get_settings().relay_secret()})
                return response.status_code, await asyncio.wait_for(queue.get(), 5)

        result: list[tuple[int, dict]] = []
        thread = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
        thread.start()
        thread.join(15)
    assert result == [(204, {"type": "ticket.updated", "ticket_id": 7})]
