"""The platform's processes and the command line of each: one place for `tandem serve`, the
supervisor configuration of `make run` (operations/supervision.py) and the systemd units
(deploy/systemd), so they cannot drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

from core.event_bus import check_process_count
from core.settings import Settings

BIN = Path(sys.executable).parent
PROCESSES = ("api", "rasa", "worker", "mail")


class UnknownProcess(ValueError):
    pass


def uses_local_mail_catcher(settings: Settings) -> bool:
    """The embedded default sends mail to a local catcher that `make run` starts."""
    return settings.smtp_host in ("127.0.0.1", "localhost") and not settings.smtp_username


def processes_to_run(settings: Settings) -> list[str]:
    return [name for name in PROCESSES if name != "mail" or uses_local_mail_catcher(settings)]


def command(name: str, settings: Settings) -> list[str]:
    if name == "api":
        check_process_count(settings)
        argv = [str(BIN / "uvicorn"), "--factory", "app.main:create_app",
                "--host", settings.api_host, "--port", str(settings.api_port),
                "--log-level", "warning",
                "--timeout-keep-alive", str(settings.api_keep_alive_seconds)]
        if settings.api_workers > 1:
            argv += ["--workers", str(settings.api_workers)]
        return argv
    if name == "rasa":
        return [str(BIN / "tandem"), "bot", "run"]
    if name == "worker":
        # One worker process runs beat too: a second beat would run every schedule twice.
        return [str(BIN / "celery"), "-A", "app.worker:celery_app", "worker", "--beat",
                "--concurrency", "1", "--loglevel", "INFO",
                "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    if name == "mail":
        return [sys.executable, "-m", "aiosmtpd", "-n",
                "-l", f"{settings.smtp_host}:{settings.smtp_port}"]
    raise UnknownProcess(f"unknown process {name!r}; one of {', '.join(PROCESSES)}")
