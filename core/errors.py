"""Domain errors. Each carries its HTTP status; one handler (app/errors.py) maps them.

Services raise these and know nothing of HTTP beyond the status number they carry.
"""

from __future__ import annotations

from typing import Any


class TandemError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def headers(self) -> dict[str, str]:
        """Extra response headers this failure calls for (e.g. Retry-After)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(TandemError):
    status_code = 400
    code = "bad_request"


class ValidationFailed(TandemError):
    status_code = 422
    code = "validation_failed"


class AuthenticationRequired(TandemError):
    status_code = 401
    code = "authentication_required"


class PermissionDenied(TandemError):
    status_code = 403
    code = "permission_denied"


class NotFound(TandemError):
    status_code = 404
    code = "not_found"


class Conflict(TandemError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(TandemError):
    status_code = 413
    code = "payload_too_large"


class DependencyUnavailable(TandemError):
    status_code = 503
    code = "dependency_unavailable"
