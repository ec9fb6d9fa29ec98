"""The one place that maps errors to HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import TandemError

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying a 503 (with the same client_message_id, for a
# customer message): the database's lock or pool frees up within about a second; a missing
# dependency takes longer to come back.
DATABASE_RETRY_AFTER = "1"
DEPENDENCY_RETRY_AFTER = "5"


def _field_of(loc: tuple[object, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _is_transient(exc: OperationalError) -> bool:
    """A lock timeout or a lost connection, as opposed to a bug such as a missing column."""
    text = str(exc.orig).lower()
    return exc.connection_invalidated or any(
        marker in text for marker in ("database is locked", "could not connect", "connection",
                                      "server closed", "timeout"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TandemError)
    async def _tandem_error(_request: Request, exc: TandemError) -> JSONResponse:
        headers = exc.headers()
        if exc.status_code == 503:
            headers.setdefault("Retry-After", DEPENDENCY_RETRY_AFTER)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = _field_of(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            message, field = "request body is not valid JSON", "body"
        else:
            message = f"{field or 'request'}: {first.get('msg', 'is invalid')}"
        return JSONResponse(
            {"code": "validation_failed", "message": message, "field": field,
             "details": {"errors": [
                 {"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg")}
                 for e in errors]}},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"code": code, "message": str(exc.detail)},
                            status_code=exc.status_code)

    @app.exception_handler(OperationalError)
    async def _database_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        if not _is_transient(exc):
            log.exception("database error")
            return JSONResponse({"code": "internal_error", "message": "internal error"},
                                status_code=500)
        # Nothing was committed: the client may retry (with the same client_message_id).
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return JSONResponse({"code": "database_unavailable",
                             "message": "the database is busy or unreachable; retry shortly"},
                            status_code=503, headers={"Retry-After": DATABASE_RETRY_AFTER})

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every connection of the pool stayed in use for pool_timeout: load, not a bug. A
        # retry is safe (a customer message already stored is not stored twice).
        log.warning("database pool exhausted: %s", exc)
        return JSONResponse({"code": "database_unavailable",
                             "message": "the database is busy; retry shortly"},
                            status_code=503, headers={"Retry-After": DATABASE_RETRY_AFTER})

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse({"code": "internal_error", "message": "internal error"},
                            status_code=500)
