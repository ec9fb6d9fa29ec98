"""`make run` / `tandem run`: every process under supervisord, restarted when it dies.

One process dying (Rasa killed for memory, a worker crash) must not stop the others: the api
keeps taking customer messages and hands them off while Rasa is away. supervisord restarts a
process that exits; one that dies within `startsecs` of starting counts as a failed start
and is retried after a growing delay (1 s, 2 s, 3 s ...), so a crash loop does not spin.
Ctrl-C (SIGINT) or SIGTERM to supervisord stops everything, each process with its group
(Rasa servers and uvicorn workers are children of the processes supervisord started).

Each process logs to `<data dir>/logs/<name>.log`; supervisord's own lines (started, exited,
restarting) go to the terminal.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings
from operations.processes import command, processes_to_run

# Seconds a process must stay up to count as started; sooner exits are retried with back-off.
START_SECONDS = {"api": 5, "rasa": 5, "worker": 5, "mail": 2}
START_RETRIES = 100
STOP_WAIT_SECONDS = {"api": 20, "rasa": 40, "worker": 60, "mail": 5}


def config_dir(settings: Settings) -> Path:
    return settings.data_dir / "supervisor"


def config_path(settings: Settings) -> Path:
    return config_dir(settings) / "supervisord.conf"


def render_config(settings: Settings, names: list[str] | None = None) -> str:
    folder = config_dir(settings)
    logs = settings.data_dir / "logs"
    lines = [
        "[supervisord]",
        "nodaemon=true",
        "logfile=/dev/stdout",
        "logfile_maxbytes=0",
        "loglevel=info",
        f"pidfile={folder / 'supervisord.pid'}",
        f"childlogdir={logs}",
        "",
        "[unix_http_server]",
        f"file={folder / 'supervisor.sock'}",
        "chmod=0700",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{folder / 'supervisor.sock'}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
    ]
    for name in names or processes_to_run(settings):
        argv = command(name, settings)
        lines += [
            f"[program:{name}]",
            f"command={shlex.join(argv)}",
            f"directory={PROJECT_ROOT}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS[name]}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS[name]}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={logs / f'{name}.log'}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=3",
            "environment=PYTHONUNBUFFERED=\"1\"",
            "",
        ]
    # supervisord expands %(name)s in values: a literal % in a path must be doubled.
    return "\n".join(line.replace("%", "%%") for line in lines)


def write_config(settings: Settings, names: list[str] | None = None) -> Path:
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(settings, names))
    return path


def clear_metrics_dir(settings: Settings) -> None:
    """Prometheus's per-process files of an earlier run would be summed into this one's."""
    folder = settings.metrics_dir
    if folder.is_dir():
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)


def supervise(settings: Settings, names: list[str] | None = None) -> None:
    """Replace this process with supervisord running the platform (never returns)."""
    clear_metrics_dir(settings)
    path = write_config(settings, names)
    supervisord = Path(sys.executable).parent / "supervisord"
    os.execv(supervisord, [str(supervisord), "--nodaemon", "-c", str(path)])  # noqa: S606
