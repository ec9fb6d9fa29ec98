"""The api follows the Rasa runner's choice of server (var/rasa/active.json)."""

from __future__ import annotations

from pathlib import Path

from bot import rasa_active, rasa_client
from core.settings import get_settings


def test_the_client_follows_the_active_file_and_falls_back_to_the_setting():
    assert rasa_active.read_active() is None
    assert rasa_client.get_rasa_client().base_url == get_settings().rasa_url.rstrip("/")
    try:
        rasa_active.write_active("http://127.0.0.1:5123", Path("tandem-v2.tar.gz"), 1)
        first = rasa_client.get_rasa_client()
        assert first.base_url == "http://127.0.0.1:5123"
        assert rasa_client.get_rasa_client() is first  # unchanged file: same client
        rasa_active.write_active("http://127.0.0.1:5124", Path("tandem-v3.tar.gz"), 2)
        assert rasa_client.get_rasa_client().base_url == "http://127.0.0.1:5124"
        assert first in rasa_client._retired  # requests in flight on it may finish
    finally:
        rasa_active.clear_active()
    assert rasa_client.get_rasa_client().base_url == get_settings().rasa_url.rstrip("/")
