"""The reports pages as a browser without a session meets them: the login form (never a
JSON error), their scripts from a fixed list, and the pinned chart library from node_modules."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from reporting.pages import ECHARTS

PAGES = ["/reports", "/reports/bot", "/reports/teams", "/reports/agents",
         "/reports/conversations?metric=volume.channel&value=email",
         "/reports/conversations/3f2b0c1e-0000-4000-8000-000000000000"]


@pytest.fixture(scope="module")
def client():
    from app.main import create_app

    # Not entered as a context manager: the pages need no lifespan (no model warm-up, no
    # database), so none is started.
    return TestClient(create_app())


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_shows_the_login_form(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form id="login"' in response.text
    assert "/console/static/common.js" in response.text


def test_dashboards_load_the_chart_library_and_lists_do_not(client):
    assert "/reports/vendor/echarts.min.js" in client.get("/reports/bot").text
    assert "echarts" not in client.get("/reports/conversations").text


def test_the_filter_bar_offers_the_known_channels_and_priorities(client):
    page = client.get("/reports").text
    options = json.loads(page.split('<script id="report-options" type="application/json">')[1]
                         .split("</script>")[0])
    assert options == {"channels": ["email", "rest", "widget"],
                       "priorities": ["low", "normal", "high", "urgent"]}


def test_assets_come_from_a_fixed_list(client):
    for name, media in (("reports.js", "text/javascript"), ("dashboards.js", "text/javascript"),
                        ("drilldown.js", "text/javascript"), ("reports.css", "text/css")):
        response = client.get(f"/reports/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
    assert client.get("/reports/static/pages.py").status_code == 404
    assert client.get("/reports/static/..%2Fpages.py").status_code == 404


def test_the_chart_library_is_served_from_node_modules(client):
    # `make install` runs `npm ci` (package-lock.json pins echarts); the file is not in git.
    assert ECHARTS.is_file(), "run `make install`: node_modules/echarts is missing"
    response = client.get("/reports/vendor/echarts.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert len(response.content) == ECHARTS.stat().st_size
