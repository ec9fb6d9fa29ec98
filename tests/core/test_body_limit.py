"""Request bodies over the limit are refused before they are parsed, declared or streamed."""

from __future__ import annotations

import asyncio

from core.body_limit import BodyLimitMiddleware
from tests.api_helpers import api_client, start_conversation


def test_an_oversized_message_body_is_refused_with_413_and_nothing_stored(db_url):
    with api_client() as client:
        cid, headers = start_conversation(client)
        big = '{"text": "' + "x" * (2 * 1024 * 1024) + '"}'
        response = client.post(f"/api/v1/conversations/{cid}/messages",
                               headers={**headers, "Content-Type": "application/json"},
                               content=big)
        assert response.status_code == 413
        assert response.json()["field"] == "body"
        assert response.json()["code"] == "payload_too_large"
        transcript = client.get(f"/api/v1/conversations/{cid}", headers=headers).json()
        assert transcript["messages"] == []


def _run(middleware: BodyLimitMiddleware, chunks: list[bytes],
         headers: list[tuple[bytes, bytes]]) -> tuple[list[dict], list[int]]:
    """Drive the middleware by hand: a body sent in chunks without a Content-Length."""
    seen_by_app: list[int] = []
    sent: list[dict] = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen_by_app.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware.app = app
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
             for i, c in enumerate(chunks)]

    async def receive():
        return queue.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/api/v1/x", "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    return sent, seen_by_app


def test_a_chunked_body_is_cut_off_at_the_limit():
    middleware = BodyLimitMiddleware(lambda *_: None, max_bytes=100)  # type: ignore[arg-type]
    sent, seen = _run(middleware, [b"x" * 60, b"x" * 60, b"x" * 60], [])
    assert sent[0]["status"] == 413
    assert seen == [60]  # the app never saw the chunk that crossed the limit
    sent, _ = _run(middleware, [b"x" * 50, b"x" * 50], [])
    assert sent[0]["status"] == 200


def test_the_kb_import_may_send_a_larger_file():
    middleware = BodyLimitMiddleware(lambda *_: None, max_bytes=100)  # type: ignore[arg-type]
    assert middleware.limit_for("/api/v1/kb/editor/import") > 20 * 1024 * 1024
    assert middleware.limit_for("/api/v1/conversations") == 100


def test_rasa_may_send_a_long_conversations_tracker_to_the_action_endpoint(db_url):
    """Rasa resends the whole tracker each turn; a long conversation's is over 1 MiB, and a
    413 there would leave the customer without an answer."""
    from core.settings import get_settings
    from tests.api_helpers import api_client

    events = [{"event": "user", "text": "x" * 1000, "metadata": {"n": n}} for n in range(2000)]
    tracker = {"sender_id": "c1", "slots": {}, "events": events,
               "latest_message": {"text": "hello"}}
    with api_client() as client:
        response = client.post("/webhooks/rasa/actions",
                               headers={"Authorization": get_settings().action_secret()},
                               json={"next_action": "action_tandem_respond", "tracker": tracker})
    assert len(response.request.content) > 2_000_000
    assert response.status_code == 200, response.text
