"""How Rasa subprocesses are started."""

from __future__ import annotations

from core.settings import Settings


def test_rasa_sends_no_telemetry_unless_the_operator_opts_in(tmp_path):
    assert Settings(data_dir=tmp_path).rasa_environment()["RASA_TELEMETRY_ENABLED"] == "false"
    opted_in = Settings(data_dir=tmp_path, rasa_telemetry=True).rasa_environment(EXTRA="1")
    assert opted_in["RASA_TELEMETRY_ENABLED"] == "true"
    assert opted_in["EXTRA"] == "1"
    assert opted_in["RASA_CACHE_DIRECTORY"] == str(tmp_path / "rasa-cache")
