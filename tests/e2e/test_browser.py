"""A customer and an agent in two real browsers (Debian's Chromium driven by Playwright):
ask → bot answers → ask for a person → the agent claims and replies → the customer sees it
live → the agent resolves. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.rasa

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make install` installs Debian's chromium package")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield instance
        instance.close()


def test_widget_to_console_and_back(stack, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    customer = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    customer.goto(f"{stack.api_url}/widget/demo")
    customer.click("#tandem-launcher")
    customer.wait_for_selector("#tandem-widget[data-connected='true']", timeout=15_000)

    customer.fill("#tandem-input", "how long does shipping to Canada take?")
    customer.press("#tandem-input", "Enter")
    answer = customer.locator(".tdm-bot", has_text="business days")
    answer.wait_for(timeout=20_000)
    assert customer.locator(".tdm-bot a", has_text="Read:").first.get_attribute("href").endswith(
        "/help/articles/shipping-to-canada")

    customer.fill("#tandem-input", "I want to talk to a person")
    customer.press("#tandem-input", "Enter")
    customer.locator("#tandem-status", has_text="support agent").wait_for(timeout=20_000)
    customer.screenshot(path=str(ARTIFACTS / "widget-handed-off.png"))

    agent = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    agent.goto(f"{stack.api_url}/console")
    agent.fill("#email", "agent@tandem.demo")
    agent.fill("#password", DEMO_PASSWORD)
    agent.click("#login-submit")
    agent.locator(".ticket", has_text="I want to talk to a person").first.click()
    agent.click("#claim")
    agent.locator("#transcript .msg.bot", has_text="business days").wait_for(timeout=10_000)
    agent.fill("#reply-text", "Hi! Alex here, happy to help.")
    agent.press("#reply-text", "Enter")

    customer.locator(".tdm-agent", has_text="Alex here").wait_for(timeout=10_000)
    customer.screenshot(path=str(ARTIFACTS / "widget-agent-reply.png"))
    agent.screenshot(path=str(ARTIFACTS / "console-conversation.png"))

    agent.click("#resolve")
    customer.locator("#tandem-status", has_text="resolved").wait_for(timeout=10_000)

    # A reload resumes the conversation from localStorage.
    customer.reload()
    customer.click("#tandem-launcher")
    customer.locator(".tdm-agent", has_text="Alex here").wait_for(timeout=10_000)
