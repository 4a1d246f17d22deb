"""The staff pages' shared parts on a real gateway (no Rasa needed): the page and its files, logging in
with bad bodies, wrong passwords and the wrong role, tokens that open one page only, logging out."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.handoff.agents import AgentDirectory
from bot.profile.db import session_factory
from tests.helpers import http, running_gateway

PASSWORD = "staff-api-test-password"
PAGES = {"/agent": "agent.html", "/admin": "admin.html"}


@pytest.fixture(scope="module")
def gateway(seeded_bank: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("var")
    shutil.copyfile(seeded_bank, data_dir / "profile.db")
    sessions = session_factory(f"sqlite:///{data_dir / 'profile.db'}")
    AgentDirectory(sessions).ensure_demo_logins(PASSWORD)
    sessions.kw["bind"].dispose()
    with running_gateway(data_dir, data_dir / "gateway.log", KB_DRAFTS_DIR=str(data_dir / "drafts")) as url:
        yield url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("page", PAGES)
def test_each_page_and_its_files_are_served_and_nothing_else(gateway: str, page: str) -> None:
    status, html = http("GET", f"{gateway}{page}/")
    assert status == 200 and "<html" in html
    script = PAGES[page].replace(".html", ".js")
    assert http("GET", f"{gateway}{page}/static/{script}")[0] == 200
    assert http("GET", f"{gateway}{page}/static/..%2F..%2Fsettings.py")[0] == 404
    assert http("GET", f"{gateway}{page}/static/missing.js")[0] == 404


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "body",
    [None, [], "text", {"staff_no": "XH1001"}, {"staff_no": 5, "password": PASSWORD}, {"password": "x"}],
)
def test_a_malformed_login_is_refused_in_chinese(gateway: str, page: str, body: object) -> None:
    status, answer = http("POST", f"{gateway}{page}/api/login", body)
    assert status == 400 and answer["message"] == "请输入工号和密码。"
    status, answer = http("POST", f"{gateway}{page}/api/login", raw=b'{"staff_no": "XH1001", "pass')
    assert status == 400 and answer["message"] == "请输入工号和密码。"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("password", "status", "message"),
    [("wrong", 401, "工号或密码错误。"), ("x" * 5000, 400, "请输入工号和密码。")],  # huge: never hashed
)
def test_a_wrong_or_huge_password_is_refused(
    gateway: str, page: str, password: str, status: int, message: str
) -> None:
    answer = http("POST", f"{gateway}{page}/api/login", {"staff_no": "XH3001", "password": password})
    assert answer[0] == status and answer[1]["message"] == message


def test_a_console_login_opens_the_console_until_logout(gateway: str) -> None:
    status, login = http("POST", f"{gateway}/agent/api/login", {"staff_no": " XH1001 ", "password": PASSWORD})
    assert status == 200 and login["agent"]["name"] == "赵敏"
    headers = bearer(login["token"])
    assert http("GET", f"{gateway}/agent/api/queue", headers=headers)[0] == 200
    assert http("GET", f"{gateway}/admin/api/meta", headers=headers)[0] == 401
    assert http("POST", f"{gateway}/agent/api/logout", headers=headers)[0] == 200
    status, answer = http("GET", f"{gateway}/agent/api/queue", headers=headers)
    assert status == 401 and answer["message"] == "登录已失效，请重新登录。"


def test_the_dashboard_is_for_supervisors_and_its_token_for_the_dashboard(gateway: str) -> None:
    status, answer = http("POST", f"{gateway}/admin/api/login", {"staff_no": "XH1001", "password": PASSWORD})
    assert status == 403 and answer["message"] == "运营看板仅限主管登录。"
    status, login = http("POST", f"{gateway}/admin/api/login", {"staff_no": "XH3001", "password": PASSWORD})
    assert status == 200 and login["staff_no"] == "XH3001"
    headers = bearer(login["token"])
    assert http("GET", f"{gateway}/admin/api/meta", headers=headers)[0] == 200
    assert http("GET", f"{gateway}/agent/api/queue", headers=headers)[0] == 401
    assert http("POST", f"{gateway}/admin/api/logout", headers=headers)[0] == 200
    assert http("GET", f"{gateway}/admin/api/meta", headers=headers)[0] == 401
    assert http("GET", f"{gateway}/admin/api/meta", headers={"Authorization": "Basic abc"})[0] == 401
