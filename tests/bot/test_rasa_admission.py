"""The Rasa client under load: server choice, busy versus down, the admission queue, and the
pipeline around it (one notice per wait, order per conversation, hand-off reasons).

The slow Rasa here is tests/bot/fake_rasa.py (see why there); times are scaled down through
the settings so the file runs in seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot import pipeline, rasa_active, rasa_client
from bot.rasa_client import RasaBusy, RasaClient, RasaDown, RasaQueueFull, server_order
from core import i18n
from tests.api_helpers import api_client, start_conversation
from tests.bot.fake_rasa import FakeRasa

DEAD_URL = "http://127.0.0.1:9"  # nothing listens: connection refused


# Each test's settings: times scaled down to fractions of a second (tests/bot/conftest.py).
pytestmark = pytest.mark.usefixtures("rasa_env")


def _servers(*urls: str) -> None:
    rasa_active.write_active(list(urls), Path("tandem-test.tar.gz"))


async def _send(client: RasaClient, sender: str = "c-1", text: str = "hi",
                within: float = 5.0) -> list[dict[str, object]]:
    deadline = asyncio.get_running_loop().time() + within
    return await client.send_message(sender, text, deadline=deadline)


# -- choosing a server -------------------------------------------------------------------

def test_the_picker_is_stable_and_moves_only_a_removed_servers_conversations():
    urls = [f"http://127.0.0.1:{5000 + i}" for i in range(3)]
    keys = [f"conversation-{i}" for i in range(300)]
    first = {key: server_order(urls, key)[0] for key in keys}
    assert first == {key: server_order(list(reversed(urls)), key)[0] for key in keys}
    assert {url: list(first.values()).count(url) > 50 for url in urls} == dict.fromkeys(urls, True)
    without = urls[:2]
    for key in keys:
        if first[key] != urls[2]:
            assert server_order(without, key)[0] == first[key]  # unaffected: stays put
        else:
            assert server_order(without, key)[0] == server_order(urls, key)[1]


def test_a_refusing_server_is_routed_around_and_all_refusing_is_down():
    with FakeRasa() as rasa:
        _servers(DEAD_URL, rasa.url)
        keys = [f"c-{n}" for n in range(40)]
        firsts = {server_order([DEAD_URL, rasa.url], key)[0] for key in keys}
        assert firsts == {DEAD_URL, rasa.url}

        async def main() -> None:
            client = RasaClient()
            try:
                # Every conversation is answered, also those whose first choice refuses.
                for key in keys:
                    replies = await _send(client, key)
                    assert replies[0]["custom"]["tandem"]["text"] == "re: hi"
                dead = client.servers[DEAD_URL]
                assert dead.down_until > asyncio.get_running_loop().time()
            finally:
                await client.aclose()

        asyncio.run(main())
        assert len(rasa.received) == len(keys)

    _servers(DEAD_URL)

    async def all_down() -> None:
        client = RasaClient()
        started = time.monotonic()
        with pytest.raises(RasaDown):
            await _send(client)
        assert time.monotonic() - started < 2  # refused fails at once, not at a timeout
        await client.aclose()

    asyncio.run(all_down())


# -- busy or down ------------------------------------------------------------------------

def test_a_slow_rasa_that_still_answers_status_is_waited_for():
    with FakeRasa(delay=0.8) as rasa:
        _servers(rasa.url)

        async def main() -> list[dict[str, object]]:
            client = RasaClient()  # probes /status every 0.3 s (rasa_timeout_seconds)
            try:
                return await _send(client)
            finally:
                await client.aclose()

        assert asyncio.run(main())[0]["custom"]["tandem"]["text"] == "re: hi"


def test_a_slow_rasa_slow_to_answer_status_too_is_still_busy(monkeypatch):
    # A loaded Rasa runs its models on its event loop: it takes the connection, answers late.
    monkeypatch.setattr(rasa_client, "STATUS_TIMEOUT_SECONDS", 0.1)
    with FakeRasa(delay=0.8) as rasa:
        rasa.status_delay = 0.3
        _servers(rasa.url)

        async def main() -> list[dict[str, object]]:
            client = RasaClient()
            try:
                assert await client.status() == "ok"  # /healthz: busy is not down
                return await _send(client)
            finally:
                await client.aclose()

        assert asyncio.run(main())[0]["custom"]["tandem"]["text"] == "re: hi"


def test_a_slow_rasa_whose_status_fails_is_down():
    with FakeRasa(delay=3) as rasa:
        rasa.status_code = 500
        _servers(rasa.url)

        async def main() -> None:
            client = RasaClient()
            started = time.monotonic()
            with pytest.raises(RasaDown):
                await _send(client)
            assert time.monotonic() - started < 2
            await client.aclose()

        asyncio.run(main())


def test_an_error_answer_is_down_and_the_deadline_passing_is_busy():
    with FakeRasa(delay=1) as rasa:
        _servers(rasa.url)

        async def main() -> None:
            client = RasaClient()
            with pytest.raises(RasaBusy):
                await _send(client, within=0.5)
            rasa.delay, rasa.webhook_code = 0.0, 500
            with pytest.raises(RasaDown, match="HTTP 500"):
                await _send(client)
            await client.aclose()

        asyncio.run(main())


def test_the_admission_queue_bounds_calls_in_rasa_and_refuses_when_full(rasa_env):
    rasa_env(rasa_max_concurrent_calls=2, rasa_queue_limit=3)
    with FakeRasa(delay=0.25) as rasa:
        _servers(rasa.url)

        async def main() -> list[object]:
            client = RasaClient()
            try:
                return await asyncio.gather(*(_send(client, f"c-{n}") for n in range(6)),
                                            return_exceptions=True)
            finally:
                await client.aclose()

        results = asyncio.run(main())
    full = [r for r in results if isinstance(r, RasaQueueFull)]
    assert len(full) == 1  # 2 in Rasa, 3 waiting, the sixth turned away at once
    assert all(isinstance(r, list) for r in results if r not in full)
    assert rasa.max_in_flight == 2


def test_a_queued_message_past_its_deadline_is_busy(rasa_env):
    rasa_env(rasa_max_concurrent_calls=1)
    with FakeRasa(delay=0.6) as rasa:
        _servers(rasa.url)

        async def main() -> list[object]:
            client = RasaClient()
            try:
                return await asyncio.gather(_send(client, "a"), _send(client, "b", within=0.3),
                                            return_exceptions=True)
            finally:
                await client.aclose()

        first, second = asyncio.run(main())
    assert isinstance(first, list) and isinstance(second, RasaBusy)
    assert len(rasa.received) == 1  # the second never reached Rasa


# -- the pipeline ------------------------------------------------------------------------

def _conversation() -> tuple[str, str]:
    from conversations import service as conversations
    from core.database import session_scope

    with session_scope() as session:
        conversation, token = conversations.start_conversation(session, channel="rest")
        return conversation.id, token


def _transcript(conversation_id: str) -> list[tuple[str, str]]:
    from conversations import service as conversations
    from core.database import session_scope

    with session_scope() as session:
        return [(m.sender_type, m.body)
                for m in conversations.transcript(session, conversation_id)]


def _ticket_reason(conversation_id: str) -> str | None:
    from core.database import session_scope
    from handoff.models import Ticket

    with session_scope() as session:
        ticket = session.query(Ticket).filter_by(conversation_id=conversation_id).one_or_none()
        return ticket.reason if ticket else None


async def _say(conversation_id: str, token: str, *texts: str,
               gap: float = 0.05) -> list[pipeline.TurnResult]:
    async def one(n: int, text: str) -> pipeline.TurnResult:
        await asyncio.sleep(n * gap)  # sent in this order, each before the last is answered
        return await pipeline.handle_customer_message(conversation_id, token, text)

    return list(await asyncio.gather(*(one(n, t) for n, t in enumerate(texts))))


def test_replies_keep_the_order_of_the_messages_and_a_long_wait_is_told_once(db_url):
    # The first message is the slowest: without the per-conversation order its answer
    # would come last.
    with FakeRasa(delay=lambda text: 0.6 if text == "first" else 0.05) as rasa:
        _servers(rasa.url)
        cid, token = _conversation()
        turns = asyncio.run(_say(cid, token, "first", "second", "third"))
        assert [m["message"] for m in rasa.received] == ["first", "second", "third"]
    assert _transcript(cid) == [
        ("customer", "first"), ("customer", "second"), ("customer", "third"),
        ("system", i18n.text("notice.wait")),
        ("bot", "re: first"), ("bot", "re: second"), ("bot", "re: third")]
    # The REST turn of the message that waited carries the notice before the answer.
    replies = [[r["text"] for r in turn.replies] for turn in turns]
    assert [i18n.text("notice.wait"), "re: first"] in replies
    assert all(turn.conversation_status == "bot" for turn in turns)


def test_a_full_queue_hands_off_with_reason_bot_queue_full(rasa_env, db_url):
    rasa_env(rasa_max_concurrent_calls=1, rasa_queue_limit=0)
    with FakeRasa(delay=0.5) as rasa:
        _servers(rasa.url)
        first, second = _conversation(), _conversation()

        async def later() -> list[pipeline.TurnResult]:
            await asyncio.sleep(0.2)  # the first message has the only slot by then
            return await _say(*second, "hello")

        async def main() -> None:
            await asyncio.gather(_say(*first, "where is my order?"), later())

        asyncio.run(main())
    assert _ticket_reason(first[0]) is None
    assert _ticket_reason(second[0]) == "bot_queue_full"
    assert _transcript(second[0])[1] == ("system", i18n.text("notice.bot_busy"))


def test_busy_past_the_limit_hands_off_with_reason_bot_busy(rasa_env, db_url):
    rasa_env(rasa_busy_limit_seconds=0.6)
    with FakeRasa(delay=1.5) as rasa:
        _servers(rasa.url)
        cid, token = _conversation()
        [turn] = asyncio.run(_say(cid, token, "hello"))
    assert turn.conversation_status == "human"
    assert _ticket_reason(cid) == "bot_busy"
    # Told to wait first (0.3 s), then that the message went to the team.
    assert turn.replies[0]["text"] == i18n.text("notice.wait")
    assert turn.replies[1]["meta"]["reason"] == "bot_busy"


def test_a_retried_send_gets_the_stored_turn(db_url):
    with FakeRasa() as rasa, api_client() as client:
        _servers(rasa.url)
        cid, headers = start_conversation(client)
        body = {"text": "how do I reset my password?", "client_message_id": "m-1"}
        first = client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                            json=body).json()
        again = client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                            json=body).json()
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["message"]["id"] == first["message"]["id"]
    assert [r["text"] for r in again["replies"]] == ["re: how do I reset my password?"]
    assert again["conversation_status"] == "bot"
    assert len(rasa.received) == 1


def _send_as(conversation_id: str, token: str, text: str, client_id: str) -> object:
    return pipeline.handle_customer_message(conversation_id, token, text, client_id)


def test_a_retry_answers_a_message_whose_attempt_failed_after_storing_it(db_url,
                                                                         monkeypatch):
    # The database went away before the bot's reply was stored: the request failed after the
    # message was committed; the client's retry finds it stored and unanswered.
    real = pipeline._store_bot_turn
    calls = []

    def fails_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(*args)

    monkeypatch.setattr(pipeline, "_store_bot_turn", fails_once)
    with FakeRasa() as rasa:
        _servers(rasa.url)
        cid, token = _conversation()

        async def main() -> pipeline.TurnResult:
            with pytest.raises(RuntimeError):
                await _send_as(cid, token, "hello", "m-1")
            return await _send_as(cid, token, "hello", "m-1")

        retry = asyncio.run(main())
    assert retry.duplicate and [r["text"] for r in retry.replies] == ["re: hello"]
    assert _transcript(cid) == [("customer", "hello"), ("bot", "re: hello")]


def test_a_retry_answers_a_message_a_dead_process_stored(db_url):
    from datetime import timedelta

    from conversations import service as conversations
    from conversations.models import Message
    from core.database import session_scope

    cid, token = _conversation()
    with session_scope() as session:  # stored by an api process killed before it answered
        conversation = conversations.get_conversation(session, cid)
        message, _ = conversations.add_customer_message(session, conversation, "hello", "m-1")
        message_id = message.id
    with session_scope() as session:
        stored = session.get(Message, message_id)
        # Older than the busy limit (5 s here) + the margin: no process can still be on it.
        stored.created_at -= timedelta(seconds=60)
    with FakeRasa() as rasa:
        _servers(rasa.url)
        retry = asyncio.run(_send_as(cid, token, "hello", "m-1"))
    assert retry.duplicate and [r["text"] for r in retry.replies] == ["re: hello"]
    assert [m["message"] for m in rasa.received] == ["hello"]


def test_two_answers_to_one_message_store_only_the_first(db_url):
    from bot.replies import BotReply
    from conversations import service as conversations
    from core.database import session_scope
    from nlu.handoff_policy import Decision, Reason

    cid, _token = _conversation()
    with session_scope() as session:
        conversation = conversations.get_conversation(session, cid)
        message, _ = conversations.add_customer_message(session, conversation, "hello", None)
        message_id = message.id
    answer = [BotReply(kind="answer", text="first", decision=Decision.ANSWER,
                       reason=Reason.CONFIDENT)]
    late = [BotReply(kind="answer", text="second", decision=Decision.ANSWER,
                     reason=Reason.CONFIDENT)]
    first, _ = pipeline._record_bot_turn(cid, message_id, answer)
    again, status = pipeline._record_bot_turn(cid, message_id, late)
    assert [r["text"] for r in again] == [r["text"] for r in first] == ["first"]
    assert status == "bot"
    assert _transcript(cid) == [("customer", "hello"), ("bot", "first")]


def test_a_message_rasa_answers_with_nothing_is_handed_off_not_left_waiting(rasa_env, db_url):
    """Rasa answers 200 with no messages when its action call fails (e.g. the action endpoint
    refused the tracker): the customer gets the unavailable notice and a person."""
    with FakeRasa() as rasa:
        rasa.silent = True
        _servers(rasa.url)
        cid, token = _conversation()
        [turn] = asyncio.run(_say(cid, token, "how long does shipping take"))
    assert turn.conversation_status == "human"
    assert _ticket_reason(cid) == "bot_unavailable"
    assert any(r["meta"].get("reason") == "bot_unavailable" for r in turn.replies)
