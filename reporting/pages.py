"""The reports section of the staff UI: server-rendered shells whose numbers all come from the
reports API (/api/v1/reports/..., with the session cookie), their script and stylesheet, and
the chart library served from node_modules (installed by `make install`, pinned by
package-lock.json).

The shells need no login to load: like /console, a browser without a session gets the login
form (common.js shows it when /api/v1/auth/me answers 401) instead of a JSON error, and the
API decides what the logged-in reader may see."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from conversations.service import KNOWN_CHANNELS
from core.errors import DependencyUnavailable, NotFound
from handoff.models import PRIORITY_ORDER

HERE = Path(__file__).parent
REPO = HERE.parent
# The staff login form is one partial shared by every staff page (agent_console/templates);
# it is found by path, not imported, so the layers stay as they are.
templates = Jinja2Templates(directory=[HERE / "templates", REPO / "agent_console" / "templates"])
pages = APIRouter(include_in_schema=False)

# The only files served from static/: a fixed list, so no path from the URL reaches the disk.
ASSETS = {
    "reports.js": "text/javascript",
    "report_state.js": "text/javascript",
    "dashboards.js": "text/javascript",
    "drilldown.js": "text/javascript",
    "reports.css": "text/css",
}
# The one file of the chart library the pages use (the full build: it has the heat map).
ECHARTS = REPO / "node_modules" / "echarts" / "dist" / "echarts.min.js"


@dataclass(frozen=True)
class ReportPage:
    key: str
    path: str
    title: str
    # The API report this page shows and exports (None: the page has no CSV of its own).
    report: str | None


REPORT_PAGES = (
    ReportPage("overview", "/reports", "Overview", "volume"),
    ReportPage("bot", "/reports/bot", "Bot", "bot"),
    ReportPage("teams", "/reports/teams", "Teams", "teams"),
    ReportPage("agents", "/reports/agents", "Agents", "agents"),
)
DRILLDOWN = ReportPage("conversations", "/reports/conversations", "Conversations", None)
TRANSCRIPT = ReportPage("transcript", "/reports/conversations", "Conversation", None)


def _options_json() -> str:
    """Fixed choices of the filter bar; `</` is escaped so the JSON cannot end the script."""
    options = {"channels": sorted(KNOWN_CHANNELS),
               "priorities": [str(priority) for priority in PRIORITY_ORDER]}
    return json.dumps(options).replace("</", "<\\/")


@lru_cache(maxsize=1)
def echarts_version() -> str:
    """The installed version, so a browser's cached copy is replaced after an upgrade."""
    try:
        return str(json.loads((ECHARTS.parent.parent / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "missing"


def _render(request: Request, page: ReportPage, **extra: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "reports.html", {
        "page": page, "nav": REPORT_PAGES, "options_json": _options_json(),
        "echarts_version": echarts_version(), **extra})


@pages.get("/reports", response_class=HTMLResponse)
def overview_page(request: Request) -> HTMLResponse:
    return _render(request, REPORT_PAGES[0])


@pages.get("/reports/bot", response_class=HTMLResponse)
def bot_page(request: Request) -> HTMLResponse:
    return _render(request, REPORT_PAGES[1])


@pages.get("/reports/teams", response_class=HTMLResponse)
def teams_page(request: Request) -> HTMLResponse:
    return _render(request, REPORT_PAGES[2])


@pages.get("/reports/agents", response_class=HTMLResponse)
def agents_page(request: Request) -> HTMLResponse:
    return _render(request, REPORT_PAGES[3])


@pages.get("/reports/conversations", response_class=HTMLResponse)
def drilldown_page(request: Request) -> HTMLResponse:
    return _render(request, DRILLDOWN)


@pages.get("/reports/conversations/{conversation_id}", response_class=HTMLResponse)
def transcript_page(request: Request, conversation_id: str) -> HTMLResponse:
    # The id only reaches the page's script, which asks the API (team-scoped, masked) for it.
    return _render(request, TRANSCRIPT, conversation_id=conversation_id[:64])


@pages.get("/reports/static/{name}")
def reports_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no reports asset '{name}'")
    return FileResponse(HERE / "static" / name, media_type=media_type,
                        headers={"Cache-Control": "no-cache"})


@pages.get("/reports/vendor/echarts.min.js")
def echarts_asset() -> FileResponse:
    if not ECHARTS.is_file():
        raise DependencyUnavailable("the chart library is not installed: run `make install`")
    # The version is pinned by package-lock.json; a day's caching is safe across a restart.
    return FileResponse(ECHARTS, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
