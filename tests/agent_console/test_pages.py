"""The console pages are shells; their scripts come from a fixed list of files."""

from __future__ import annotations

import json
import re

from handoff.lifecycle import TRANSITIONS
from tests.api_helpers import api_client


def test_console_page_carries_the_allowed_status_moves():
    with api_client() as client:
        page = client.get("/console")
    assert page.status_code == 200
    embedded = re.search(r'<script id="ticket-transitions" type="application/json">(.*?)</script>',
                         page.text)
    assert embedded is not None
    assert json.loads(embedded.group(1)) == {
        str(old): sorted(str(new) for new in targets) for old, targets in TRANSITIONS.items()}


def test_supervisor_page_and_assets_are_served_and_nothing_else():
    with api_client() as client:
        assert client.get("/console/supervisor").status_code == 200
        script = client.get("/console/static/console.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert client.get("/console/static/console.css").headers["content-type"].startswith(
            "text/css")
        for name in ("pages.py", "..%2Fpages.py", "missing.js"):
            assert client.get(f"/console/static/{name}").status_code == 404
