"""The reports section in a real browser (Debian's Chromium driven by Playwright) against the
live stack, on a few weeks of seeded history: a browser without a session gets the login
form; the analyst opens the overview, changes a filter (kept in the URL, numbers equal to the
API's), clicks a chart bar down to the conversations behind it and on to a transcript,
downloads the list as CSV (rows = the figure), and opens the bot, teams and agents
dashboards; a supervisor sees no CSV button (no reports.export) and subscribes to a weekly
summary e-mail from the page; an agent sees only their own row. Screenshots go to
tests/artifacts/.

Seeding leaves tickets waiting in the live stack's queues, so this module runs after the
other browser tests of the same stack (file order)."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from app.demo import DEMO_PASSWORD
from tests.e2e.test_browser import ARTIFACTS, CHROMIUM, FLAGS, new_page
from tests.live import BIN, REPO

pytestmark = pytest.mark.rasa

WAIT = 20_000  # ms: a report query on a cold database, a page load
SEEDED_CONVERSATIONS = 400


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make install` installs Debian's chromium package")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def history(stack):
    """Three weeks of realistic traffic in the live stack's database (seed-traffic rolls it
    up into the report facts as it goes)."""
    subprocess.run([str(BIN / "tandem"), "seed-traffic", "--conversations",
                    str(SEEDED_CONVERSATIONS), "--days", "21", "--seed", "7"],
                   check=True, env=stack.env(), cwd=REPO, stdout=subprocess.DEVNULL)
    return stack


def log_in(page, email: str) -> None:
    page.wait_for_selector("#login:not([hidden])", timeout=WAIT)
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")


def loaded(page) -> None:
    """The report on screen is the one for the current URL (no request still on its way)."""
    page.wait_for_function(
        "() => { const s = document.body.getAttribute('data-loaded');"
        " return s && s !== 'error' && !document.getElementById('report-body')"
        ".classList.contains('loading'); }", timeout=WAIT)


def kpi(page, label: str) -> str:
    return page.locator(f".kpi[data-kpi='{label}'] .value").inner_text()


def number(text: str) -> int:
    return int(text.replace(",", "").replace("\u202f", "").strip())


def shot(page, name: str) -> None:
    """A full-page screenshot from the top (the sticky header stays where a person sees it)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def click_bar(page, chart: str, label: str) -> None:
    """Click the bar of `label` in a horizontal bar chart, where a person would."""
    x, y = page.evaluate("""([name, label]) => {
        const node = document.querySelector(`[data-chart="${name}"]`);
        node.scrollIntoView({block: "center"});
        const chart = echarts.getInstanceByDom(node), option = chart.getOption();
        const index = option.yAxis[0].data.indexOf(label);
        if (index < 0) throw new Error(`no bar '${label}' in ${option.yAxis[0].data}`);
        const value = option.series[0].data[index].value;
        const [px, py] = chart.convertToPixel({seriesIndex: 0}, [value / 2, index]);
        const box = node.getBoundingClientRect();
        return [box.left + px, box.top + py];
    }""", [chart, label])
    page.mouse.click(x, y)


def test_dashboards_filter_drill_down_transcript_and_csv(history, browser):
    stack = history
    ARTIFACTS.mkdir(exist_ok=True)
    page, errors = new_page(browser, 1440)
    api = page.request

    # No session: the login form, not a JSON error; the page keeps its URL.
    page.goto(f"{stack.api_url}/reports")
    log_in(page, "analyst@tandem.demo")
    loaded(page)
    assert page.locator(".report-tabs a.current").inner_text() == "Overview"
    query = parse_qs(urlparse(page.url).query)
    assert set(query) == {"start", "end", "tz"}  # the defaults are written into the URL
    volume = api.get(f"{stack.api_url}/api/v1/reports/volume?{urlparse(page.url).query}").json()
    total = number(kpi(page, "Conversations"))
    assert total == volume["conversations"]["amount"] >= SEEDED_CONVERSATIONS
    for chart in ("volume-by-day", "volume-by-channel", "volume-by-team", "volume-heatmap",
                  "volume-backlog", "volume-by-hour"):
        assert page.locator(f"[data-chart='{chart}'] canvas").count() >= 1, chart
    shot(page, "reports-overview")

    # A filter: the URL keeps it, the numbers follow it and equal the API's.
    page.select_option("#f-channel", "email")
    page.wait_for_url("**channel=email**", timeout=WAIT)
    loaded(page)
    email = api.get(f"{stack.api_url}/api/v1/reports/volume?{urlparse(page.url).query}").json()
    email_total = number(kpi(page, "Conversations"))
    assert email_total == email["conversations"]["amount"]
    assert 0 < email_total < total
    shot(page, "reports-overview-email")

    # The e-mail bar leads to the conversations behind it, with the same filters.
    click_bar(page, "volume-by-channel", "E-mail")
    page.wait_for_url("**/reports/conversations?**", timeout=WAIT)
    loaded(page)
    drill = parse_qs(urlparse(page.url).query)
    assert drill["metric"] == ["volume.channel"] and drill["value"] == ["email"]
    assert drill["channel"] == ["email"]
    assert f"{email_total:,} conversation" in page.locator("#report-subtitle").inner_text()
    rows = page.locator("table.rows tbody tr[data-conversation-id]")
    assert rows.count() == min(50, email_total)
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"E-mail"}
    shot(page, "reports-drilldown")
    if email_total > 50:  # the next page comes by cursor, without repeats
        page.click("#load-more")
        page.wait_for_function(f"document.querySelectorAll('table.rows tbody tr').length == "
                               f"{min(100, email_total)}", timeout=WAIT)
        ids = rows.evaluate_all("rows => rows.map(r => r.dataset.conversationId)")
        assert len(set(ids)) == len(ids)

    # CSV of the list: one row per conversation behind the figure.
    with page.expect_download() as download_info:
        page.click("#csv")
    body = Path(download_info.value.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(body)))
    assert len(table) - 1 == email_total
    assert any("conversation" in column for column in table[0])

    # A row opens its transcript; the way back returns to the same list.
    first = rows.first
    conversation_id = first.get_attribute("data-conversation-id")
    first.locator("td").nth(2).click()
    page.wait_for_url(f"**/reports/conversations/{conversation_id}?**", timeout=WAIT)
    loaded(page)
    assert page.locator("#transcript .msg").count() >= 1
    assert page.locator("#transcript .msg.customer").count() >= 1
    shot(page, "reports-transcript")
    page.click(".crumbs a")
    page.wait_for_url("**metric=volume.channel**", timeout=WAIT)
    loaded(page)

    # The tabs keep the filters; back to every channel, each dashboard draws its charts.
    page.click(".report-tabs a[data-tab='bot']")
    page.wait_for_url("**/reports/bot?**channel=email**", timeout=WAIT)
    loaded(page)
    page.select_option("#f-channel", "")
    page.wait_for_url(lambda url: "channel=" not in url, timeout=WAIT)
    loaded(page)
    for tab, charts in (("bot", ("bot-outcomes", "bot-handoff-reasons", "bot-top-intents",
                                 "bot-kb-ratings")),
                        ("teams", ("teams-first-response", "teams-sla", "teams-resolution",
                                   "csat-distribution")),
                        ("agents", ("agents-handled", "agents-first-response", "agents-csat",
                                    "agents-sla"))):
        if tab != "bot":
            page.click(f".report-tabs a[data-tab='{tab}']")
            page.wait_for_url(f"**/reports/{tab}?**", timeout=WAIT)
            loaded(page)
        for chart in charts:
            assert page.locator(f"[data-chart='{chart}'] canvas").count() >= 1, (tab, chart)
        shot(page, f"reports-{tab}")
    page.goto(f"{stack.api_url}/reports/bot")
    loaded(page)
    page.click(".kpi[data-kpi='Containment']")  # contained: the bot surely answered
    page.wait_for_url("**/reports/conversations?**", timeout=WAIT)
    loaded(page)
    bot_rows = page.locator("table.rows tbody tr[data-conversation-id]")
    assert bot_rows.count() > 0
    bot_rows.first.locator("td").nth(2).click()
    page.wait_for_url("**/reports/conversations/*", timeout=WAIT)
    loaded(page)
    assert page.locator("#transcript .msg.bot").count() >= 1
    shot(page, "reports-transcript-bot")

    # The business-hours toggle is a filter like the others.
    page.goto(f"{stack.api_url}/reports/teams")
    loaded(page)
    page.click("label.toggle")
    page.wait_for_url("**business_hours=true**", timeout=WAIT)
    loaded(page)
    assert "business hours" in page.locator("#report-subtitle").inner_text()

    # A supervisor reads reports but may not export them.
    supervisor, supervisor_errors = new_page(browser, 1440)
    supervisor.goto(f"{stack.api_url}/reports/teams")
    log_in(supervisor, "supervisor@tandem.demo")
    loaded(supervisor)
    assert supervisor.locator("#csv").is_hidden()
    assert "your teams only" in supervisor.locator("#report-subtitle").inner_text()
    # ... and subscribes to a weekly summary e-mail from the page, then unsubscribes.
    supervisor.click("#subscribe-open")
    supervisor.select_option("#sub-frequency", "weekly")
    supervisor.select_option("#sub-weekday", "0")
    supervisor.click("#sub-submit")
    subscription = supervisor.locator(".subscription", has_text="Every Monday at 07:00")
    subscription.wait_for(timeout=WAIT)
    mine = supervisor.request.get(f"{stack.api_url}/api/v1/reports/subscriptions").json()
    assert [(s["frequency"], s["weekday"], s["send_hour"]) for s in mine["items"]] == [
        ("weekly", 0, 7)]
    subscription.locator("button", has_text="Unsubscribe").click()
    supervisor.locator("#subscriptions", has_text="no summary e-mails").wait_for(timeout=WAIT)

    # An agent has no reports.read: the agents page shows their own row only, nothing more.
    agent, agent_errors = new_page(browser, 1440)
    agent.goto(f"{stack.api_url}/reports")
    log_in(agent, "agent@tandem.demo")
    agent.locator("#report-error", has_text="reports.read").wait_for(timeout=WAIT)
    agent.click("#report-error a")
    agent.wait_for_url("**/reports/agents?**", timeout=WAIT)
    loaded(agent)
    assert agent.locator(".report-tabs a:visible").all_inner_texts() == ["Agents"]
    assert agent.locator("table.figures tbody tr td:first-child").all_inner_texts() == [
        "Alex Agent"]
    assert agent.locator("a.drill").count() == 0

    assert errors == supervisor_errors == agent_errors == []
