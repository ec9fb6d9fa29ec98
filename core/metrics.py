"""Prometheus metrics the platform's code records (served by GET /metrics).

Domain code calls the small functions here; it never imports prometheus_client itself.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RASA_CALL_SECONDS = Histogram(
    "tandem_rasa_call_seconds", "Time for one message through Rasa, by outcome",
    ["outcome"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
MESSAGES_BY_PATH = Counter(
    "tandem_customer_messages_total",
    "Customer messages by what happened to them (answered, clarified, handed_off, human, ...)",
    ["path"],
)


def observe_rasa_call(seconds: float, outcome: str) -> None:
    """outcome: ok, timeout, refused, error, busy."""
    RASA_CALL_SECONDS.labels(outcome=outcome).observe(seconds)


def count_message(path: str) -> None:
    MESSAGES_BY_PATH.labels(path=path).inc()
