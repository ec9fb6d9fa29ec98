"""The supervisord configuration `make run` uses, and the refusals at start."""

from __future__ import annotations

import configparser

from click.testing import CliRunner

from app.cli import main as cli
from core.settings import Settings
from operations.processes import command, processes_to_run
from operations.supervision import render_config


def _parsed(settings: Settings) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(render_config(settings).replace("%%", "%"))
    return parser


def test_every_process_restarts_on_its_own_and_stops_with_its_children(tmp_path):
    config = _parsed(Settings(data_dir=tmp_path))
    assert {s.removeprefix("program:") for s in config.sections()
            if s.startswith("program:")} == {"api", "rasa", "worker", "mail"}
    for name in ("api", "rasa", "worker", "mail"):
        program = config[f"program:{name}"]
        assert program["autorestart"] == "true"
        assert int(program["startretries"]) >= 10  # back-off on failed starts, not give up
        assert program["stopasgroup"] == program["killasgroup"] == "true"
        assert program["stdout_logfile"] == str(tmp_path / "logs" / f"{name}.log")
    assert config["supervisord"]["nodaemon"] == "true"


def test_the_mail_catcher_runs_only_on_the_embedded_default(tmp_path):
    assert "mail" in processes_to_run(Settings(data_dir=tmp_path))
    assert "mail" not in processes_to_run(Settings(data_dir=tmp_path, smtp_host="smtp.example"))


def test_api_workers_and_keep_alive_reach_uvicorn(tmp_path):
    argv = command("api", Settings(data_dir=tmp_path, api_workers=3,
                                   events_url="redis://127.0.0.1:6379/1"))
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--timeout-keep-alive") + 1] == "75"
    assert "--workers" not in command("api", Settings(data_dir=tmp_path))


def test_a_percent_sign_in_a_path_survives_supervisord_expansion(tmp_path):
    odd = tmp_path / "100%data"
    rendered = render_config(Settings(data_dir=odd))
    assert "100%%data" in rendered and "100%data" not in rendered.replace("%%", "")


def test_run_refuses_several_api_workers_without_a_shared_event_bus(monkeypatch):
    monkeypatch.setenv("TANDEM_API_WORKERS", "2")
    monkeypatch.delenv("TANDEM_EVENTS_URL", raising=False)
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        for argv in (["run"], ["serve", "api"]):
            result = CliRunner().invoke(cli, argv)
            assert result.exit_code == 1
            assert "TANDEM_EVENTS_URL" in result.output
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
