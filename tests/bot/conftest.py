from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot import rasa_active
from core.settings import get_settings


@pytest.fixture(scope="session")
def loaded_models() -> None:
    """The encoder and classifier loaded before a test's deadlines start: loading them inside
    the first turn (seconds) would use up the scaled-down busy limit on its own, as the api's
    warm-up avoids in production."""
    from bot.understanding import understand

    understand("hello", [])


@pytest.fixture
def rasa_env(monkeypatch: pytest.MonkeyPatch,
             loaded_models: None) -> Iterator[Callable[..., None]]:
    """Settings for one test, TANDEM_<NAME>=value; Rasa's times scaled down to fractions of
    a second. No active.json is left behind."""
    def apply(**values: object) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"TANDEM_{key.upper()}", str(value))
        get_settings.cache_clear()

    apply(rasa_timeout_seconds=0.3, rasa_wait_notice_seconds=0.3, rasa_busy_limit_seconds=5)
    yield apply
    rasa_active.clear_active()
    get_settings.cache_clear()
