"""The ML team's pages: annotation of candidates, dataset snapshots, the model registry.

Server-rendered shells like the console's: the data comes from the training API
(agent_console/ml_api.py) and the models API (agent_console/models_api.py) with the session
cookie; a visitor without a session gets the shared login form, as on /console.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from core.errors import NotFound

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
pages = APIRouter(include_in_schema=False)

# The only files served from static/ for these pages: a fixed list, so no path from the URL
# reaches the disk. The shared modules (api.js, common.js, format.js) and console.css come
# from the console's own route, /console/static/.
ASSETS = {
    "ml_common.js": "text/javascript",
    "ml_state.js": "text/javascript",
    "ml_annotate.js": "text/javascript",
    "ml_datasets.js": "text/javascript",
    "ml_models.js": "text/javascript",
    "ml.css": "text/css",
}
PAGES = {"annotate": "ml_annotate.html", "datasets": "ml_datasets.html",
         "models": "ml_models.html"}


@pages.get("/console/ml")
def ml_home() -> RedirectResponse:
    return RedirectResponse("/console/ml/annotate")


@pages.get("/console/ml/static/{name}")
def ml_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no ML page asset '{name}'")
    return FileResponse(HERE / "static" / name, media_type=media_type,
                        headers={"Cache-Control": "no-cache"})


@pages.get("/console/ml/{page}", response_class=HTMLResponse)
def ml_page(page: str, request: Request) -> HTMLResponse:
    template = PAGES.get(page)
    if template is None:
        raise NotFound(f"no ML page '{page}'")
    return templates.TemplateResponse(request, template, {"page": page})
