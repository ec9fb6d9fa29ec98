"""The widget and the agent console in Simplified Chinese, in real browsers (Debian's Chromium
via Playwright) against the live stack: the demo shop opened with ?lang=zh-CN shows the widget
in Chinese and starts the conversation in zh-CN (the start request's body, and the stack's
database); an agent whose saved language is zh-CN sees the console in Chinese, and the
customer's ticket with a "中文" badge in the queue and in its header. English stays the
default (test_browser).
What language the bot answers in is not checked here. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

from app.demo import DEMO_PASSWORD
from tests.e2e import test_browser as helpers
from tests.e2e.conftest import stack_rows as _rows

browser = helpers.browser  # the module's Chromium, shared with test_browser's pattern
pytestmark = helpers.pytestmark
LIVE = helpers.LIVE
ARTIFACTS = helpers.ARTIFACTS


def chinese_staff_page(browser, stack, path: str, email: str):
    """helpers.staff_page with the language saved as zh-CN before the page loads."""
    page, errors = helpers.new_page(browser, 1400)
    page.context.add_init_script("localStorage.setItem('tandem.locale', 'zh-CN')")
    page.goto(f"{stack.api_url}{path}")
    page.locator("#login-submit", has_text="登录").wait_for(timeout=LIVE)
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("body[data-live='true']", timeout=LIVE)
    return page, errors


def test_widget_and_console_in_chinese(stack, browser):
    ARTIFACTS.mkdir(exist_ok=True)

    agent, agent_errors = chinese_staff_page(browser, stack, "/console", "agent@tandem.demo")
    assert agent.evaluate("document.documentElement.lang") == "zh-CN"
    agent.wait_for_selector("#presence:not([hidden])", timeout=LIVE)
    agent.select_option("#presence", "online")
    agent.wait_for_selector("#presence.online", timeout=LIVE)
    assert agent.locator("#views button[data-view='queue']").inner_text() == "队列"
    assert agent.locator("#new-ticket-open").inner_text() == "新建工单"
    assert agent.locator("#presence option[value='online']").inner_text() == "在线"
    assert agent.input_value("#locale-picker") == "zh-CN"

    customer, customer_errors = helpers.new_page(browser, 1100)
    customer.goto(f"{stack.api_url}/widget/demo?lang=zh-CN")
    assert customer.evaluate("document.documentElement.lang") == "zh-CN"
    assert customer.get_attribute("#tandem-launcher", "aria-label") == "打开聊天"
    # Opening the chat starts the conversation, in the widget's language.
    with customer.expect_request(lambda r: r.method == "POST"
                                 and r.url.endswith("/api/v1/conversations")) as started:
        customer.click("#tandem-launcher")
    assert started.value.post_data_json["locale"] == "zh-CN"
    customer.wait_for_selector("#tandem-widget[data-connected='true']", timeout=LIVE)
    conversation_id = customer.evaluate(
        "() => JSON.parse(Object.entries(localStorage).find(([k]) => "
        "k.startsWith('tandem.conversation.') && !k.endsWith('rated'))[1]).id")
    [conversation] = _rows(stack, "SELECT locale FROM conversations WHERE id = :cid",
                           cid=conversation_id)
    assert conversation["locale"] == "zh-CN"
    assert customer.locator(".tdm-head b").inner_text() == "Northwind Goods 客户服务"
    assert customer.locator("#tandem-send").inner_text() == "发送"
    assert customer.get_attribute("#tandem-input", "placeholder") == "请输入您的问题…"

    # The chat goes to a person (a phrasing the demo bot is trained on), so the agent has a
    # ticket to see; written in Chinese, the conversation stays in zh-CN.
    customer.fill("#tandem-input", "帮我转人工客服")
    customer.press("#tandem-input", "Enter")
    customer.locator(".tdm-customer", has_text="帮我转人工客服").wait_for(timeout=LIVE)
    queued = re.compile("排在第|已有客服|转接人工客服")  # the queue's words, in Chinese
    customer.locator("#tandem-status", has_text=queued).wait_for(timeout=20_000)
    customer.screenshot(path=str(ARTIFACTS / "widget-zh.png"))

    [ticket] = _rows(stack, "SELECT id FROM tickets WHERE conversation_id = :cid",
                     cid=conversation_id)

    # The console: every open ticket, this one with the customer's language.
    agent.click("#views button[data-view='all']")
    row = agent.locator(f"#queue-list .ticket[data-ticket-id='{ticket['id']}']")
    row.wait_for(timeout=LIVE)
    assert row.locator(".badge.locale").inner_text() == "中文"
    row.click()
    agent.locator("#locale-badge", has_text="中文").wait_for(timeout=LIVE)
    agent.locator("#ticket-head .reason", has_text="转人工").wait_for(timeout=LIVE)
    agent.locator("#side-details", has_text="详情").wait_for(timeout=LIVE)
    agent.screenshot(path=str(ARTIFACTS / "console-zh.png"))

    # Back to English at once, from the header; the choice is kept for the next visit.
    agent.select_option("#locale-picker", "en")
    agent.locator("#views button[data-view='queue']", has_text="Queue").wait_for(timeout=LIVE)
    agent.locator("#locale-badge", has_text="Chinese").wait_for(timeout=LIVE)
    assert agent.evaluate("localStorage.getItem('tandem.locale')") == "en"
    assert agent.evaluate("document.documentElement.lang") == "en"

    assert agent_errors == customer_errors == []
