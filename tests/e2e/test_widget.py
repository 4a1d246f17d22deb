"""The web chat widget in a real browser (Debian's headless Chromium driven by Playwright)."""

from __future__ import annotations

import uuid

import pytest

from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import STAFF_PASSWORD, web_login
from tests.e2e.test_agent_console import chromium  # noqa: F401  (the fixture)
from tests.helpers import http

pytestmark = pytest.mark.e2e
SCREENSHOT = PROJECT_ROOT / "reports" / "widget.png"
XSS = '<img src=x onerror="window.__xss=1">'
WAIT = 30_000


@pytest.fixture
def page(system, chromium):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
        page = context.new_page()
        page.goto(system["gateway"] + "/")
        page.locator(".xh-panel").wait_for(timeout=WAIT)
        yield page
        browser.close()


def bot_said(page, text: str) -> None:
    page.locator(".xh-bot .xh-text", has_text=text).last.wait_for(timeout=WAIT)


def say(page, text: str) -> None:
    page.fill("#xh-input", text)
    page.keyboard.press("Enter")


def test_chat_reload_quick_reply_and_xss(page) -> None:
    say(page, "信用卡年费怎么收")
    bot_said(page, "年费")
    assert page.locator(".xh-bot .xh-meta").last.inner_text().startswith("小星 · ")  # with a time
    say(page, XSS)
    page.locator(".xh-user .xh-text", has_text="onerror").wait_for(timeout=WAIT)
    assert page.evaluate("window.__xss") is None  # shown as text, never run
    say(page, f"**{XSS}** 见 https://www.example.com/a?b=1 javascript:alert(1)")
    strong = page.locator(".xh-user .xh-text strong").last
    strong.wait_for(timeout=WAIT)
    assert strong.inner_text() == XSS and page.evaluate("window.__xss") is None
    links = page.locator(".xh-user .xh-text a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "https://www.example.com/a?b=1"
    ]
    page.reload()
    page.locator(".xh-user .xh-text", has_text="信用卡年费怎么收").wait_for(timeout=WAIT)  # history restored
    bot_said(page, "年费")
    page.locator(".xh-choice", has_text="有用").last.click()  # a quick reply: the article vote
    bot_said(page, "感谢您的反馈")


def test_handoff_states_are_shown(system, page) -> None:
    page.click(".xh-human")
    page.locator(".xh-status", has_text="正在为您转接人工客服").wait_for(timeout=WAIT)
    session = page.evaluate("localStorage.getItem('xinghai-chat-session')")
    base = system["gateway"] + "/agent/api"
    _, login = http("POST", f"{base}/login", {"staff_no": "XH3001", "password": STAFF_PASSWORD})
    headers = {"Authorization": f"Bearer {login['token']}"}
    assert http("POST", f"{base}/conversations/{session}/claim", headers=headers)[0] == 200
    page.locator(".xh-status", has_text="人工客服 马骏 已接入").wait_for(timeout=WAIT)
    http("POST", f"{base}/conversations/{session}/messages", {"text": "您好，我是马骏"}, headers=headers)
    bot_said(page, "您好，我是马骏")
    assert page.locator(".xh-bot .xh-meta").last.inner_text().startswith("人工客服 马骏 · ")
    page.click(".xh-elder")
    assert "xh-elder-mode" in page.get_attribute(".xh-panel", "class")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert http("POST", f"{base}/conversations/{session}/handback", headers=headers)[0] == 200
    page.locator(".xh-status", has_text="已转回智能助手").wait_for(timeout=WAIT)
    page.locator(".xh-choice", has_text="5 非常满意").last.click()
    bot_said(page, "感谢您的评价")


def test_a_logged_in_customer_gets_their_own_answers(system, chromium) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(f"{system['gateway']}/?token={web_login('demo-web-1')}")  # the host page passes the token
        page.locator(".xh-panel").wait_for(timeout=WAIT)
        say(page, "我卡里还有多少钱")
        page.locator(".xh-bot .xh-text", has_text="元").last.wait_for(timeout=WAIT)
        assert "张先生" in page.inner_text(".xh-log")
        browser.close()


def test_a_new_visitor_gets_its_own_session(system, chromium) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        sessions = []
        for _ in range(2):
            page = browser.new_context().new_page()
            page.goto(system["gateway"] + "/")
            page.wait_for_function("localStorage.getItem('xinghai-chat-session')", timeout=WAIT)
            sessions.append(page.evaluate("localStorage.getItem('xinghai-chat-session')"))
        browser.close()
    assert sessions[0] != sessions[1] and all(len(s) == 32 for s in sessions)
    assert str(uuid.UUID(sessions[0]))


def test_two_tabs_share_the_conversation(system, page) -> None:
    other = page.context.new_page()  # same browser profile: same session id in localStorage
    other.goto(system["gateway"] + "/")
    other.locator(".xh-panel").wait_for(timeout=WAIT)
    other.wait_for_timeout(1000)  # joined its session's room
    say(page, "跨行转账多久到账")
    other.locator(".xh-user .xh-text", has_text="跨行转账多久到账").wait_for(timeout=WAIT)  # the echo
    other.locator(".xh-bot .xh-text", has_text="到账").last.wait_for(timeout=WAIT)  # and the answer


def test_a_message_typed_offline_is_sent_once_when_the_network_is_back(page) -> None:
    page.wait_for_function("localStorage.getItem('xinghai-chat-session')", timeout=WAIT)
    page.wait_for_timeout(1000)
    page.context.set_offline(True)
    page.locator(".xh-status", has_text="网络连接中断").wait_for(timeout=WAIT)
    say(page, "信用卡年费怎么收")
    assert "信用卡年费怎么收" in page.evaluate("localStorage.getItem('xinghai-chat-outbox')")
    page.context.set_offline(False)  # the client reconnects and resends what was not acknowledged
    bot_said(page, "年费")
    page.wait_for_timeout(3000)
    assert page.locator(".xh-bot .xh-text", has_text="年费").count() == 1  # answered exactly once
    assert page.evaluate("localStorage.getItem('xinghai-chat-outbox')") == "[]"


def test_keyboard_elder_mode_and_phone_width(system, chromium) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 375, "height": 700}, locale="zh-CN").new_page()
        page.goto(system["gateway"] + "/")
        panel = page.locator(".xh-panel")
        panel.wait_for(timeout=WAIT)
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375  # fits a phone screen
        page.click("#xh-input")
        page.keyboard.press("Escape")  # closes the dialog, focus goes to the launcher
        assert panel.is_hidden() and page.evaluate("document.activeElement.className") == "xh-launcher"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "xh-input"
        font = "parseFloat(getComputedStyle(document.querySelector('.xh-panel')).fontSize)"
        normal = page.evaluate(font)
        for _ in range(10):  # back from the input to the header's buttons, by keyboard only
            page.keyboard.press("Shift+Tab")
            if page.evaluate("document.activeElement.className") == "xh-elder":
                break
        assert page.evaluate("document.activeElement.className") == "xh-elder"
        page.keyboard.press("Enter")
        assert page.get_attribute(".xh-elder", "aria-pressed") == "true"
        assert page.evaluate(font) == pytest.approx(normal * 1.2, rel=0.01)
        browser.close()
