"""How the api and the worker log: text (default) or one JSON object per line, every record
with the request id, secrets and e-mail addresses redacted before any handler sees them."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import IO, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from core.request_context import current_request_id
from core.settings import Settings

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Loggers that come with handlers of their own (uvicorn's config): their records should go
# through the same handler, format and redaction as everyone else's.
OWN_HANDLER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
QUIET_LOGGERS = ("httpx", "httpcore")
REDACTED = "[REDACTED]"

# Keys whose values are credentials, wherever they appear in `extra` (nested too).
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authori[sz]ation|api[_-]?key|cookie|credential|"
    r"signature|totp", re.IGNORECASE)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
# Credentials inside free text: bearer tokens, API keys, `token=...` in logged URLs (the
# WebSocket endpoints take the session token as a query parameter).
SECRET_IN_TEXT = re.compile(
    r"(?i)(\bbearer\s+)[^\s\"',]+"
    r"|(\b(?:access_token|token|password|secret|api_key|key|signature)=)[^&\s\"',]+"
    r"|\btk_[A-Za-z0-9_\-]{8,}")

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "taskName"}


def redact_text(text: str) -> str:
    def secret(match: re.Match[str]) -> str:
        prefix = match.group(1) or match.group(2) or ""
        return prefix + REDACTED

    return EMAIL.sub("[EMAIL]", SECRET_IN_TEXT.sub(secret, text))


def redact_value(key: str, value: Any, depth: int = 0) -> Any:
    if SECRET_KEY.search(key):
        return REDACTED
    if depth > 4:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", v, depth + 1) for v in value]
    return value


class RequestIdFilter(logging.Filter):
    def __init__(self, missing: str | None) -> None:
        super().__init__()
        self.missing = missing

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id() or self.missing
        return True


class RedactFilter(logging.Filter):
    """Credentials by key in `extra`, credentials and e-mail addresses in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        attrs = vars(record)
        for key in [k for k in attrs if k not in _STANDARD_ATTRS]:
            attrs[key] = redact_value(key, attrs[key])
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the formatter reports it as logging does
            return True
        record.msg, record.args = redact_text(message), None
        return True


class _RedactTracebacks(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return redact_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact_text(super().formatStack(stack_info))


class TextFormatter(_RedactTracebacks):
    pass


class JsonLineFormatter(_RedactTracebacks, JsonFormatter):
    pass


class _Handler(logging.StreamHandler):
    """Writes to the current sys.stderr unless given a stream (tests and daemonised
    processes replace sys.stderr after logging is set up)."""

    def __init__(self, stream: IO[str] | None) -> None:
        self._fixed = stream
        super().__init__(stream)

    @property
    def stream(self) -> IO[str]:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._fixed = value


def configure_logging(settings: Settings, *, stream: IO[str] | None = None,
                      level: int | str | None = None) -> logging.Handler:
    """The root logger's one handler of ours (calling this again replaces it)."""
    log_format = settings.log_format.strip().lower()
    if log_format not in LOG_FORMATS:
        raise ValueError(f"TANDEM_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
                         f"not {settings.log_format!r}")
    handler = _Handler(stream)
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter(
            "{levelname}{name}{message}{request_id}", style="{", timestamp=True,
            rename_fields={"levelname": "level", "name": "logger"},
            # uvicorn's copy of the message with terminal colours
            reserved_attrs=[*RESERVED_ATTRS, "color_message"]))
        handler.addFilter(RequestIdFilter(missing=None))
    else:
        handler.setFormatter(TextFormatter(TEXT_FORMAT))
        handler.addFilter(RequestIdFilter(missing="-"))
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or settings.log_level.upper())
    for name in OWN_HANDLER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # One INFO line per outgoing request (Rasa, webhooks) would drown everything else.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
