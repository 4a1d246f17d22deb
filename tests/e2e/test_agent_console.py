"""The agent console in a real browser (Debian's headless Chromium driven by Playwright)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import STAFF_PASSWORD, say
from tests.services import apt_install

pytestmark = pytest.mark.e2e
SCREENSHOT = PROJECT_ROOT / "reports" / "agent-console.png"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
HOSTILE = '<img src=x onerror="window.__xss=1">我的卡怎么了'


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium (Playwright's own browser download does not work here), with a Chinese font
    so the screenshot is readable."""
    if shutil.which("chromium") is None or not CJK_FONT.exists():
        apt_install("chromium", "fonts-wqy-microhei")
    return shutil.which("chromium")


def test_console_shows_the_queue_and_the_summary(system, chromium) -> None:
    from playwright.sync_api import sync_playwright

    conversation = f"rest-{uuid.uuid4().hex}"
    say(system, conversation, "信用卡额度能提高吗")
    say(system, conversation, "转人工")
    say(system, conversation, HOSTILE)  # said while waiting: the agent must see it as text
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.goto(f"{system['gateway']}/agent")
        page.fill("#staff-no", "XH1001")
        page.fill("#password", STAFF_PASSWORD)
        page.click("#login-form button[type=submit]")
        entry = page.locator(f'.queue-item[data-conversation-id="{conversation}"]')
        entry.wait_for(timeout=20_000)
        assert page.locator("#login-form").is_hidden()
        assert "客户要求人工服务" in entry.inner_text()
        entry.locator("button.claim").click()
        page.locator("#summary-card").wait_for(state="visible", timeout=20_000)
        page.locator("#transcript .turn.customer").first.wait_for(timeout=20_000)
        summary = page.inner_text("#summary-card")
        assert "转人工摘要" in summary and "客户要求人工服务" in summary and "建议下一步" in summary
        assert HOSTILE in page.inner_text("#transcript")  # shown as text …
        assert page.evaluate("window.__xss") is None  # … never run
        page.fill("#reply-text", "您好，我是赵敏，马上为您处理")
        page.click("#reply-send")
        page.locator("#transcript .turn.agent").wait_for(timeout=20_000)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    later = say(system, conversation, "好的")
    assert "马上为您处理" in " ".join(r.get("text", "") for r in later)  # the REST customer gets the reply
