"""The supervisors' dashboard on the running system: who may log in, measures that follow scripted
conversations, traffic from the simulator, and the page in headless Chromium (screenshot)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from bot.analytics.admin import REFRESH_SECONDS
from bot.settings import PROJECT_ROOT
from tests.e2e.clients import Agent
from tests.e2e.conftest import STAFF_PASSWORD, WEB_SECRET, say
from tests.e2e.test_agent_console import chromium  # noqa: F401  (fixture)
from tests.helpers import http

pytestmark = pytest.mark.e2e
SCREENSHOT = PROJECT_ROOT / "reports" / "admin-dashboard.png"
HOSTILE = '<img src=x onerror="window.__xss=1">你们支持数字人民币吗'


def admin_login(system: dict[str, Any], staff_no: str, password: str = STAFF_PASSWORD) -> tuple[int, Any]:
    return http("POST", f"{system['gateway']}/admin/api/login", {"staff_no": staff_no, "password": password})


@pytest.fixture(scope="module")
def supervisor(system: dict[str, Any]) -> dict[str, str]:
    status, body = admin_login(system, "XH3001")
    assert status == 200, body
    return {"Authorization": f"Bearer {body['token']}"}


def overview(system: dict[str, Any], headers: dict[str, str], query: str = "") -> dict[str, Any]:
    time.sleep(REFRESH_SECONDS + 0.5)  # everything said so far is recorded before the numbers are read
    status, body = http("GET", f"{system['gateway']}/admin/api/overview?{query}", headers=headers)
    assert status == 200, body
    return body


def test_only_supervisors_log_in_and_tokens_stay_on_their_page(system, supervisor) -> None:
    assert admin_login(system, "XH1001")[0] == 403  # an agent
    assert admin_login(system, "XH3001", "wrong")[0] == 401
    assert http("GET", f"{system['gateway']}/admin/api/overview")[0] == 401
    with Agent(system["gateway"], "XH3001") as console:
        console_token = {"Authorization": f"Bearer {console.token}"}
        assert http("GET", f"{system['gateway']}/admin/api/overview", headers=console_token)[0] == 401
    assert http("GET", f"{system['gateway']}/agent/api/queue", headers=supervisor)[0] == 401
    status, body = http("GET", f"{system['gateway']}/admin/api/overview?first=2026-13-40", headers=supervisor)
    assert status == 400 and "日期格式" in body["message"]


def test_the_measures_follow_the_conversations(system, supervisor) -> None:
    before = overview(system, supervisor, "channel=rest")
    answered, asked_for_person = f"dash-{uuid.uuid4().hex}", f"dash-{uuid.uuid4().hex}"
    say(system, answered, "信用卡年费怎么收")
    say(system, asked_for_person, "转人工")
    with Agent(system["gateway"], "XH1001") as agent:
        assert agent.call("POST", f"/conversations/{asked_for_person}/claim")[0] == 200
        closed = agent.call("POST", f"/conversations/{asked_for_person}/close", {"disposition": "resolved"})
        assert closed[0] == 200
    say(system, asked_for_person, "5")  # the rating the bot asks for afterwards
    after = overview(system, supervisor, "channel=rest")
    assert after["conversations"] - before["conversations"] == 2
    handed_over = [sum(r["conversations"] for r in data["handoffs_by_reason"]) for data in (before, after)]
    assert handed_over[1] - handed_over[0] == 1
    assert after["handoffs"]["claimed"] - before["handoffs"]["claimed"] == 1
    assert (
        after["satisfaction"]["distribution"][4]["ratings"]
        - before["satisfaction"]["distribution"][4]["ratings"]
        == 1
    )
    assert after["turns"]["response_ms"]["p50"] > 0
    status, text = http(
        "GET", f"{system['gateway']}/admin/api/export/daily.csv?channel=rest", headers=supervisor
    )
    assert status == 200 and text.startswith("\ufeffday,conversations")


def test_simulated_traffic_fills_the_dashboard_and_can_be_left_out(system, supervisor) -> None:
    env = dict(
        os.environ,
        BANKBOT_DATA_DIR=str(system["data_dir"]),
        WEB_TOKEN_SECRET=WEB_SECRET,
        BANKBOT_DEMO_STAFF_PASSWORD=STAFF_PASSWORD,
    )
    command = [sys.executable, "-m", "bot", "simulate", "--conversations", "12", "--concurrency", "6"]
    run = subprocess.run(
        [*command, "--gateway", system["gateway"]],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "==> 12 conversations" in run.stdout
    everything, real_only = overview(system, supervisor), overview(system, supervisor, "simulated=0")
    assert everything["simulated_conversations"] >= 12
    assert real_only["simulated_conversations"] == 0
    assert everything["conversations"] - real_only["conversations"] == everything["simulated_conversations"]


def test_the_dashboard_in_a_browser(system, supervisor, chromium) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    for _ in range(2):  # unanswered twice: a knowledge gap, to be shown as text
        say(system, f"dash-{uuid.uuid4().hex}", HOSTILE)
    time.sleep(REFRESH_SECONDS + 0.5)  # recorded before the page asks
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.goto(f"{system['gateway']}/admin/")
        page.fill("#staff-no", "XH3001")
        page.fill("#password", STAFF_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.locator("#kpis .kpi").first.wait_for(timeout=20_000)
        assert "会话数" in page.locator("#kpis").inner_text()
        assert page.locator("canvas").count() == 7
        page.click("#load-gaps")
        page.locator("#gaps table").wait_for(timeout=120_000)
        assert 'onerror="window.__xss=1"' in page.locator("#gaps").inner_text()
        assert page.evaluate("window.__xss") is None
        page.locator("#gaps button").first.click()
        page.locator("#draft").wait_for(timeout=20_000)
        assert "articles:" in page.locator("#draft").inner_text()
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    assert SCREENSHOT.stat().st_size > 50_000
