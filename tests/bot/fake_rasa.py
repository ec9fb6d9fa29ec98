"""A stand-in Rasa server for the admission and runner tests.

A real Rasa that is deliberately slow, or slow while still answering /status, or failing
/status, cannot be produced on demand, and a real one takes a minute and a core to start, so
this answers Rasa 3.6's REST channel, /status and /model/parse the way Rasa does, with a
delay and failures set per test. `python tests/bot/fake_rasa.py PORT MODEL` runs one as a
process (what the runner test starts instead of `rasa run`). The real Rasa path is covered
by the tests marked `rasa` and tests/e2e.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the api cancels calls) is expected here


class FakeRasa:
    def __init__(self, delay: float | Callable[[str], float] = 0.0, port: int = 0,
                 model: str = "tandem-fake.tar.gz") -> None:
        self.delay = delay
        self.model = model
        self.status_code = 200
        self.status_delay = 0.0  # a loaded Rasa answers /status late
        self.webhook_code = 200
        self.silent = False  # answers 200 with no messages, as Rasa does when an action fails
        self.received: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeRasa:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.received.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.delay(body["message"]) if callable(self.delay) else self.delay
            time.sleep(delay)
            if self.webhook_code != 200:
                return self.webhook_code, {"error": "failed"}
            if self.silent:
                return 200, []
            return 200, [{"recipient_id": body["sender"], "custom": {"tandem": {
                "kind": "answer", "text": f"re: {body['message']}", "reason": "confident"}}}]
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/status":
                    time.sleep(fake.status_delay)
                    self._send(fake.status_code, {"model_file": f"models/{fake.model}"})
                else:
                    self._send(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/model/parse":
                    self._send(200, {"text": body.get("text"),
                                     "intent": {"name": "greet", "confidence": 1.0}})
                    return
                if self.path != "/webhooks/rest/webhook":
                    self._send(404, {})
                    return
                code, answer = fake._answer(body)
                self._send(code, answer)

        return Handler


if __name__ == "__main__":
    import sys

    server = FakeRasa(port=int(sys.argv[1]), model=sys.argv[2])
    server._server.serve_forever()
