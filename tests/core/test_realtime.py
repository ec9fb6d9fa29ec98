import asyncio
import threading

from core.realtime import Hub


def test_events_published_from_another_thread_reach_the_subscriber():
    hub = Hub()

    async def scenario():
        async with hub.subscribe("topic") as queue:
            threading.Thread(target=hub.publish, args=("topic", {"n": 1})).start()
            hub.publish("other", {"n": 2})
            return await asyncio.wait_for(queue.get(), timeout=2)

    assert asyncio.run(scenario()) == {"n": 1}


def test_unsubscribed_topics_are_dropped():
    hub = Hub()

    async def scenario():
        async with hub.subscribe("topic"):
            pass
        hub.publish("topic", {"n": 1})  # no subscriber left: must not raise

    asyncio.run(scenario())
