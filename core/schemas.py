"""Schema pieces every router shares: the error body, and `responses=` entries naming it.

The error body is the one `TandemError.to_dict()` and the handlers of app/errors.py send;
app/openapi.py adds the usual error responses to every operation, so a router declares here
only the ones it cannot infer (e.g. 401/403 of a route checking its own token, or a 409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

# A time on the wire: ISO 8601 as `datetime.isoformat` writes it (what every route sends).
Timestamp = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class ErrorBody(BaseModel):
    """What every error response carries, whatever its status."""

    code: str = Field(description="Machine-readable, e.g. `validation_failed`, `not_found`",
                      examples=["not_found"])
    message: str = Field(description="For people; may change between versions",
                         examples=["no ticket 42"])
    field: str | None = Field(default=None,
                              description="The request field at fault, dotted, if one is")
    details: dict[str, Any] | None = Field(
        default=None, description="More about the failure, e.g. `errors` of a 422: "
                                  "[{field, message}], or `retry_after` seconds")


ERROR_DESCRIPTIONS = {
    400: "The request cannot be carried out as asked",
    401: "No valid session, API key or token was presented",
    403: "The caller may not do this",
    404: "An object named in the path does not exist (or is not visible to the caller)",
    409: "The change conflicts with the current state",
    413: "The request body is larger than the server accepts",
    422: "A parameter or the body is invalid",
    429: "Too many attempts; retry after the time given",
    503: "A dependency (database, broker, Rasa) is busy or down; retry after Retry-After",
}


def error_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response object whose body is an ErrorBody."""
    return {"model": ErrorBody, "description": description or ERROR_DESCRIPTIONS[status]}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A `responses=` value for a route or router, e.g. `error_responses(401, 403, 409)`."""
    return {status: error_response(status) for status in statuses}
