"""WeChat against the real bot: a plaintext message answered passively, and how long that takes."""

from __future__ import annotations

import hashlib
import statistics
import time
from urllib.parse import urlencode

import pytest
from wechatpy import parse_message

from tests.e2e.conftest import WECHAT_TOKEN
from tests.helpers import http

pytestmark = pytest.mark.e2e


def post(system, openid: str, text: str, msg_id: int) -> tuple[int, str, float]:
    timestamp, nonce = str(int(time.time())), f"n{msg_id}"
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    query = urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    started = time.monotonic()
    status, body = http("POST", f"{system['gateway']}/webhooks/wechat?{query}", raw=xml.encode(), timeout=10)
    return status, body, time.monotonic() - started


def test_the_real_bot_answers_wechat_passively(system) -> None:
    openid = f"oE2E{int(time.time())}"
    questions = [
        "信用卡年费怎么收",
        "跨行转账多久到账",
        "忘记登录密码怎么办",
        "信用卡怎么激活",
        "附近有网点吗",
    ]
    times = []
    for n, question in enumerate(questions):
        status, body, seconds = post(system, openid, question, 880000 + n + int(time.time()) % 10000 * 10)
        assert status == 200 and body != "success", body  # answered within the window, not via the API
        reply = parse_message(body)
        assert reply.target == openid and reply.content
        times.append(seconds)
    median, worst = 1000 * statistics.median(times), 1000 * max(times)
    print(f"\nWeChat POST → passive reply: median {median:.0f} ms, max {worst:.0f} ms")
    assert (
        "年费"
        in parse_message(post(system, openid, "信用卡年费怎么收", 990001 + int(time.time()))[1]).content
    )
