"""The agent console and supervisor pages: server-rendered shells whose data comes from the
agent API (with the session cookie), plus the staff pages' shared scripts and stylesheet."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from core.errors import NotFound
from handoff.lifecycle import TRANSITIONS

HERE = Path(__file__).parent
REPO = HERE.parent
templates = Jinja2Templates(directory=HERE / "templates")
pages = APIRouter(include_in_schema=False)

JS = "text/javascript"
# The only files served from /console/static/: a fixed list, so no path from the URL reaches
# the disk. These are the staff pages' shared ES modules (api.js, the one API client, and
# the DOM and formatting helpers) and the console's and supervisor page's own; the admin
# page's and the knowledge-base editor's modules sit beside their templates and are served
# here too, so that every staff page imports the same api.js (found by path, not imported:
# the layers stay as they are).
ASSETS: dict[str, tuple[Path, str]] = {
    **{name: (HERE / "static" / name, JS) for name in (
        "api.js", "common.js", "format.js", "i18n.js", "console.js", "console_state.js",
        "labelling.js", "labelling_state.js", "supervisor.js", "supervisor_state.js")},
    "console.css": (HERE / "static" / "console.css", "text/css"),
    **{name: (REPO / "admin_console" / "static" / name, JS)
       for name in ("admin.js", "admin_state.js")},
    **{name: (REPO / "knowledge_base" / "static" / name, JS) for name in (
        "editor_common.js", "editor_forms.js", "editor_list.js", "editor_article.js",
        "editor_gaps.js")},
}
# The translations i18n.js loads (static/i18n/<locale>.json), by the same rule.
CATALOGUES: dict[str, Path] = {
    name: HERE / "static" / "i18n" / name for name in ("en.json", "zh-CN.json")}


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
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFound(f"no console asset '{name}'")
    path, media_type = asset
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


@pages.get("/console/static/i18n/{name}")
def console_catalogue(name: str) -> FileResponse:
    path = CATALOGUES.get(name)
    if path is None:
        raise NotFound(f"no console catalogue '{name}'")
    return FileResponse(path, media_type="application/json", headers={"Cache-Control": "no-cache"})
