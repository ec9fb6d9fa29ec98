"""GET /metrics: the Prometheus exposition.

A scraper presents a token with system.read (an API key, usually), or scrapes from an
address listed in `metrics_allow_addresses`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from core import metrics
from core.auth.dependencies import BearerDeclared, CookieDeclared, client_address, require
from core.auth.permissions import Permission
from core.database import DbSession
from core.settings import get_settings
from operations import metrics_service

router = APIRouter(tags=["operations"])
_system_read = require(Permission.SYSTEM_READ)


def _metrics_reader(request: Request, session: DbSession, _bearer: BearerDeclared = None,
                    _cookie: CookieDeclared = None) -> None:
    if metrics_service.address_allowed(client_address(request),
                                       get_settings().metrics_allow_addresses):
        return
    _system_read(request, session)


MetricsReader = Annotated[None, Depends(_metrics_reader)]


@router.get("/metrics", summary="Prometheus metrics of every api and worker process",
            description="Needs a token with system.read (an API key, usually), unless the "
                        "scraper's address is listed in `metrics_allow_addresses`.",
            response_class=Response, responses={200: {
                "description": "The Prometheus text exposition format (version 0.0.4)",
                "content": {"text/plain": {"schema": {"type": "string"}}}}})
def prometheus_metrics(_reader: MetricsReader, session: DbSession) -> Response:
    return Response(metrics_service.scrape(session), media_type=metrics.CONTENT_TYPE_LATEST)
