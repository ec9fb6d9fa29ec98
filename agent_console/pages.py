"""The agent console and supervisor pages: server-rendered shells whose data comes from the
agent API (with the session cookie), plus their scripts and stylesheet."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from core.errors import NotFound
from handoff.lifecycle import TRANSITIONS

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
pages = APIRouter(include_in_schema=False)

# The only files served from static/: a fixed list, so no path from the URL reaches the disk.
ASSETS = {
    "common.js": "text/javascript",
    "console.js": "text/javascript",
    "labelling.js": "text/javascript",
    "supervisor.js": "text/javascript",
    "console.css": "text/css",
}


def _transitions_json() -> str:
    """The allowed status moves for the status picker; the service enforces the same table.
    `</` is escaped so the JSON cannot end the inline script element."""
    table = {str(old): sorted(str(new) for new in targets) for old, targets in TRANSITIONS.items()}
    return json.dumps(table).replace("</", "<\\/")


@pages.get("/console", response_class=HTMLResponse)
def console_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "console.html",
                                      {"transitions_json": _transitions_json()})


@pages.get("/console/supervisor", response_class=HTMLResponse)
def supervisor_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "supervisor.html", {})


@pages.get("/console/static/{name}")
def console_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no console asset '{name}'")
    return FileResponse(HERE / "static" / name, media_type=media_type,
                        headers={"Cache-Control": "no-cache"})
