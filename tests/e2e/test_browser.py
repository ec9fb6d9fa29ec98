"""A customer, an agent and a supervisor in real browsers (Debian's Chromium driven by
Playwright) against the live stack: ask → the bot answers → ask for a person → the agent
claims from the live queue and replies (canned response) → the customer sees it live →
an internal note never reaches the widget → the agent solves → the customer rates → the
console shows the rating; with nobody online the next customer leaves an e-mail address.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.rasa

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
LIVE = 15_000  # ms for anything that travels over a WebSocket
NOTE = "Customer sounds upset: offer the 10% voucher"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make install` installs Debian's chromium package")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield instance
        instance.close()


def new_page(browser, width: int) -> tuple[object, list[str]]:
    """A page in a browser context of its own, and the uncaught script errors it raises."""
    page = browser.new_context(viewport={"width": width, "height": 860}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def staff_page(browser, stack, path: str, email: str):
    page, errors = new_page(browser, 1400)
    page.goto(f"{stack.api_url}{path}")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("body[data-live='true']", timeout=LIVE)  # the agent socket is open
    return page, errors


def test_widget_console_notes_and_rating(stack, browser):
    ARTIFACTS.mkdir(exist_ok=True)

    # The agent goes online first, so the hand-off queues the chat instead of promising
    # an e-mail; a personal canned response is ready for "/" in the reply box.
    agent, agent_errors = staff_page(browser, stack, "/console", "agent@tandem.demo")
    agent.wait_for_selector("#presence:not([hidden])", timeout=LIVE)
    agent.select_option("#presence", "online")
    agent.wait_for_selector("#presence.online", timeout=LIVE)
    canned = agent.request.post(f"{stack.api_url}/api/v1/agent/canned", data={
        "shortcut": "looking", "title": "Looking into it", "scope": "personal",
        "body": "Hi, {{agent.name}} here. I'm looking at ticket #{{ticket.id}} now."})
    assert canned.status == 201, canned.text()

    customer, customer_errors = new_page(browser, 1100)
    customer.goto(f"{stack.api_url}/widget/demo")
    customer.click("#tandem-launcher")
    customer.wait_for_selector("#tandem-widget[data-connected='true']", timeout=LIVE)

    customer.fill("#tandem-input", "how long does shipping to Canada take?")
    customer.press("#tandem-input", "Enter")
    customer.locator(".tdm-bot", has_text="business days").wait_for(timeout=20_000)
    assert customer.locator(".tdm-bot a", has_text="Read:").first.get_attribute("href").endswith(
        "/help/articles/shipping-to-canada")

    customer.fill("#tandem-input", "I want to talk to a person")
    customer.press("#tandem-input", "Enter")
    customer.locator("#tandem-status", has_text="number 1 in the queue").wait_for(timeout=20_000)
    customer.screenshot(path=str(ARTIFACTS / "widget-queued.png"))

    # The new ticket arrives in the open console without a reload.
    row = agent.locator("#queue-list .ticket", has_text="I want to talk to a person").first
    row.wait_for(timeout=LIVE)
    row.click()
    head = agent.locator("#ticket-head")
    head.locator(".reason", has_text="Hand-off: customer request").wait_for(timeout=LIVE)
    agent.locator("#transcript .msg.bot", has_text="business days").wait_for(timeout=LIVE)
    agent.click("#claim")
    head.locator(".reason", has_text="assigned to Alex Agent").wait_for(timeout=LIVE)
    agent.wait_for_selector("#mode-reply.active", timeout=LIVE)

    # "/look" picks the canned response, filled in for this ticket; typing shows live.
    agent.click("#reply-text")
    agent.keyboard.type("/look")
    agent.locator("#canned-menu .option", has_text="/looking").wait_for(timeout=LIVE)
    customer.locator("#tandem-typing", has_text="Alex Agent is typing").wait_for(timeout=LIVE)
    agent.keyboard.press("Enter")
    ticket_id = agent.locator("#ticket-head .title").inner_text().split()[0].lstrip("#")
    reply = f"Hi, Alex Agent here. I'm looking at ticket #{ticket_id} now."
    assert agent.input_value("#reply-text") == reply
    agent.keyboard.press("Control+Enter")
    customer.locator(".tdm-agent", has_text=reply).wait_for(timeout=LIVE)
    assert customer.locator(".tdm-agent .tdm-who").last.inner_text() == "Alex Agent"
    customer.locator("#tandem-status", has_text="support agent has this").wait_for(timeout=LIVE)

    customer.click("#tandem-input")
    customer.keyboard.type("Thanks, it's order 1234")
    agent.locator("#typing", has_text="Customer is typing").wait_for(timeout=LIVE)
    customer.press("#tandem-input", "Enter")
    agent.locator("#transcript .msg.customer", has_text="order 1234").wait_for(timeout=LIVE)

    # Alt+N switches to an internal note: shown to agents in yellow, never to the customer.
    agent.click("#reply-text")
    agent.keyboard.press("Alt+n")
    agent.wait_for_selector("#composer.note-mode", timeout=LIVE)
    agent.fill("#reply-text", NOTE)
    agent.keyboard.press("Control+Enter")
    note = agent.locator("#transcript .msg.note", has_text=NOTE)
    note.wait_for(timeout=LIVE)
    assert "only agents see this" in note.inner_text()
    agent.screenshot(path=str(ARTIFACTS / "console-conversation.png"))

    agent.click("#solve")
    agent.locator("#ticket-status", has_text="solved").wait_for(timeout=LIVE)
    customer.wait_for_selector(".tdm-csat .tdm-star", timeout=LIVE)
    customer.click(".tdm-star[data-score='5']")
    customer.fill(".tdm-comment", "Quick and friendly")
    customer.screenshot(path=str(ARTIFACTS / "widget-rating.png"))
    customer.click(".tdm-rate")
    customer.locator(".tdm-thanks", has_text="Thanks for your rating").wait_for(timeout=LIVE)
    customer.screenshot(path=str(ARTIFACTS / "widget-rated.png"))
    assert customer.get_by_text(NOTE).count() == 0

    # The rating reaches the open console live.
    agent.locator("#csat-badge", has_text="★★★★★").wait_for(timeout=LIVE)
    agent.click("#side-customer")
    agent.locator("#csat", has_text="Quick and friendly").wait_for(timeout=LIVE)
    agent.click("#side-history")
    agent.locator(".history-item", has_text="solved").first.wait_for(timeout=LIVE)
    agent.screenshot(path=str(ARTIFACTS / "console-rated.png"))

    supervisor, supervisor_errors = staff_page(browser, stack, "/console/supervisor",
                                               "supervisor@tandem.demo")
    alex = supervisor.locator("#agents tr", has_text="Alex Agent")
    alex.locator("td", has_text="online").wait_for(timeout=LIVE)
    supervisor.screenshot(path=str(ARTIFACTS / "supervisor.png"))
    # The agent steps away: the supervisor page follows live.
    agent.select_option("#presence", "away")
    alex.locator("td", has_text="away").wait_for(timeout=LIVE)

    # A reload resumes the conversation from localStorage: still no note, still rated.
    customer.reload()
    customer.click("#tandem-launcher")
    customer.locator(".tdm-agent", has_text=reply).wait_for(timeout=LIVE)
    customer.locator(".tdm-thanks").wait_for(timeout=LIVE)
    assert customer.get_by_text(NOTE).count() == 0

    # With nobody online now, the next customer is offered a reply by e-mail.
    late, late_errors = new_page(browser, 1100)
    late.goto(f"{stack.api_url}/widget/demo")
    late.click("#tandem-launcher")
    late.wait_for_selector("#tandem-widget[data-connected='true']", timeout=LIVE)
    late.fill("#tandem-input", "I want to talk to a person")
    late.press("#tandem-input", "Enter")
    late.locator("#tandem-offline", has_text="Nobody is available").wait_for(timeout=20_000)
    late.fill("#tandem-email", "late@example.com")
    late.click("#tandem-contact button")
    late.locator("#tandem-offline", has_text="reply to late@example.com").wait_for(timeout=LIVE)
    late.screenshot(path=str(ARTIFACTS / "widget-offline.png"))

    assert agent_errors == customer_errors == supervisor_errors == late_errors == []
