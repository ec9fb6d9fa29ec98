"""The api follows the Rasa runner's choice of servers (var/rasa/active.json)."""

from __future__ import annotations

from pathlib import Path

from bot import rasa_active, rasa_client
from core.settings import get_settings


def test_the_client_follows_the_active_file_and_falls_back_to_the_setting():
    configured = get_settings().rasa_url.rstrip("/")
    assert rasa_active.read_active() is None
    assert rasa_client.get_rasa_client().urls == [configured]
    try:
        rasa_active.write_active(["http://127.0.0.1:5123", "http://127.0.0.1:5124"],
                                 Path("tandem-v2.tar.gz"), [1, 2])
        assert rasa_active.read_active()["url"] == "http://127.0.0.1:5123"  # one-server readers
        client = rasa_client.get_rasa_client()
        client.sync()
        assert client.urls == ["http://127.0.0.1:5123", "http://127.0.0.1:5124"]
        # Calls at once scale with the servers (per api process and server).
        assert client.admission.slots == 2 * get_settings().rasa_max_concurrent_calls
        rasa_active.write_active("http://127.0.0.1:5124", Path("tandem-v3.tar.gz"), 3)
        client.sync()
        assert list(client.servers) == ["http://127.0.0.1:5124"]
        assert client.admission.slots == get_settings().rasa_max_concurrent_calls
    finally:
        rasa_active.clear_active()
    client = rasa_client.get_rasa_client()
    client.sync()
    assert client.urls == [configured]
