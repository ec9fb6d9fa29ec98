"""create_app(): the api process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

import app.worker  # noqa: F401  - makes the Celery app the default before tasks are sent
from admin_console import endpoints as admin_console
from agent_console import canned as agent_canned
from agent_console import configuration as support_configuration
from agent_console import endpoints as agent_console
from agent_console import labelling as agent_labelling
from agent_console import ml_api as training_data_api
from agent_console import ml_pages as agent_ml_pages
from agent_console import models_api as model_registry_api
from agent_console import pages as agent_console_pages
from agent_console import service_levels as agent_service_levels
from agent_console import team as agent_team
from agent_console import tickets as agent_tickets
from app.errors import install_error_handlers
from app.health import router as health_router
from app.openapi import install_openapi
from bot.actions.endpoints import router as actions_router
from bot.channels import csat as customer_csat
from bot.channels import customer_api, widget
from bot.channels.email import endpoints as email_channel
from bot.rasa_client import close_rasa_client
from bot.understanding import understand
from core.auth.endpoints import router as auth_router
from core.body_limit import BodyLimitMiddleware
from core.event_bus import check_process_count
from core.event_relay import router as event_relay_router
from core.realtime import serve_events
from core.request_context import RequestIdMiddleware
from core.settings import get_settings
from integrations import endpoints as integrations
from knowledge_base import editor_endpoints as kb_editor
from knowledge_base import endpoints as knowledge_base
from knowledge_base.retrieval import get_index_holder
from operations.http_metrics import HttpMetricsMiddleware
from operations.logs import configure_logging
from operations.metrics_endpoint import router as metrics_router
from privacy import endpoints as privacy
from reporting import endpoints as reports
from reporting import pages as report_pages
from reporting import schedule_endpoints as report_schedules

log = logging.getLogger(__name__)


def _warm_up() -> None:
    """Load the embedding model, the intent classifier and the index now, not on the first
    customer's message."""
    try:
        get_index_holder().get()
        understand("warm up", [])  # the encoder and the intent classifier
    except Exception:
        log.exception("warm-up failed; the first request will retry")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # A request's session is opened, used and committed in separate worker-thread hops. If
    # every thread were waiting for a database connection or SQLite's write lock, the holder
    # could not get a thread to commit: size the pool of threads well above the concurrency
    # the database pool admits.
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().api_threads
    if get_settings().warm_up_before_serving:
        await anyio.to_thread.run_sync(_warm_up)  # uvicorn listens only once this is done
    else:
        threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    events = asyncio.create_task(serve_events(), name="live-events")
    yield
    events.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await events
    await close_rasa_client()


def create_app() -> FastAPI:
    check_process_count(get_settings())
    application = FastAPI(
        title="Tandem",
        version="0.1.0",
        summary="Chatbot-first customer service with human hand-off",
        lifespan=lifespan,
    )
    configure_logging(get_settings())
    install_error_handlers(application)
    for router in (
        health_router,
        metrics_router,
        customer_api.router,
        customer_csat.router,
        email_channel.router,
        widget.router,
        actions_router,
        event_relay_router,
        auth_router,
        agent_console.router,
        agent_tickets.router,
        model_registry_api.router,
        training_data_api.router,
        agent_labelling.router,
        agent_canned.router,
        agent_team.router,
        support_configuration.router,
        agent_service_levels.router,
        agent_service_levels.notifications_router,
        agent_console_pages.pages,
        agent_ml_pages.pages,
        admin_console.router,
        admin_console.pages,
        knowledge_base.router,
        privacy.router,
        integrations.router,
        kb_editor.router,
        kb_editor.pages,
        report_schedules.schedule_router,
        reports.router,
        report_pages.pages,
    ):
        application.include_router(router)
    install_openapi(application)
    # Added last is outermost: the request id is set before anything is measured or logged.
    application.add_middleware(BodyLimitMiddleware,
                               max_bytes=get_settings().max_request_body_bytes)
    application.add_middleware(HttpMetricsMiddleware)
    application.add_middleware(RequestIdMiddleware)

    @application.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/widget/demo")

    return application
