"""The WeChat endpoint on a real gateway process, against a fake Rasa server and a fake WeChat API.

Cryptography is checked against Tencent's and wechatpy's published vectors (../shared/data/wechat).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot import messages
from bot.handoff.agents import AgentDirectory
from bot.profile.db import session_factory
from tests.helpers import free_port, http, running_gateway

# Tencent's official sample (vectors.txt, source A)
TOKEN, AES_KEY, APP_ID = "pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxb11529c136998cb6"
A2_TIMESTAMP, A2_NONCE = "1409304348", "xxxxxx"
A2_ENCRYPT = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wL"
    "Ma0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enG"
    "IDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38Y"
    "B1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlU"
    "b1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8x"
    "mGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)
A2_MSG_SIGNATURE = "ea88b765074e41eb8c7a75b449db34fa2fd560d5"
SLOW_SECONDS = 6
HANDOFF = {
    "reason": "customer_request",
    "priority": "P3",
    "skill": "general",
    "summary": {"text": "客户要求人工"},
}
STAFF_PASSWORD = "wechat-test-password"
LONG_ANSWER = "\n".join(f"第{n}条：" + "星海银行信用卡说明" * 20 for n in range(20))


def signature(*parts: str) -> str:
    """WeChat's URL signature: SHA-1 of the sorted strings (computed here, not by wechatpy)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class FakeRasa(BaseHTTPRequestHandler):
    """Answers the gateway channel by message text; remembers every message it got."""

    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path.startswith("/conversations/"):  # tracker events and trigger_intent during a handoff
            self._json({"messages": [{"text": "已转回智能助手"}]} if "trigger_intent" in self.path else {})
            return
        text = body.get("message") if isinstance(body, dict) else None
        if text is not None:
            FakeRasa.received.append(text)
        if text == "慢":
            time.sleep(SLOW_SECONDS)
        replies = {
            "选": [
                {"text": "您想了解哪一个？", "buttons": [{"title": "信用卡年费", "payload": "/kb_choose"}]}
            ],
            "长": [{"text": LONG_ANSWER}],
            "转人工": [{"text": "正在为您转接", "metadata": {"handoff": HANDOFF}}],
        }.get(text, [{"text": f"小星收到：{text}"}])
        self._json([{"recipient_id": body.get("sender"), **r} for r in replies] if text is not None else {})

    def do_GET(self) -> None:
        self._json({"status": "ok"})

    def _json(self, data: Any) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_args: Any) -> None:
        pass


class FakeWechatApi(FakeRasa):
    """Token endpoint and customer-service send, recording what was sent."""

    sent: ClassVar[list[dict[str, Any]]] = []
    tokens_issued = 0

    def do_GET(self) -> None:
        FakeWechatApi.tokens_issued += 1
        self._json({"access_token": f"token-{FakeWechatApi.tokens_issued}", "expires_in": 7200})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "access_token=token-1" in self.path:  # the first token is taken back early: a fresh one is fetched
            self._json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            return
        if body["touser"] == "oAway":  # has not written for 48 hours
            self._json({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})
            return
        FakeWechatApi.sent.append(body)
        self._json({"errcode": 0, "errmsg": "ok"})


def serve(handler: type) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, seeded_bank: Path) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("var")
    shutil.copy(seeded_bank, data_dir / "profile.db")  # staff to hand over to
    rasa, rasa_port = serve(FakeRasa)
    api, api_port = serve(FakeWechatApi)
    settings = {
        "RASA_PORT": str(rasa_port),
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_APP_SECRET": "test-secret",
        "WECHAT_API_BASE": f"http://127.0.0.1:{api_port}",
    }
    try:
        with running_gateway(data_dir, data_dir / "gateway.log", **settings) as url:
            AgentDirectory(session_factory(f"sqlite:///{data_dir / 'profile.db'}")).ensure_demo_logins(
                STAFF_PASSWORD
            )
            yield f"{url}/webhooks/wechat"
    finally:
        rasa.shutdown()
        api.shutdown()


def signed(timestamp: str = "1700000000", nonce: str = "n1", **extra: str) -> str:
    return "?" + urlencode(
        {"signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}
    )


def text_message(content: str, msg_id: str, user: str = "oUser1") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def post(url: str, raw: bytes, query: str | None = None) -> tuple[int, str]:
    status, body = http("POST", url + (query or signed()), raw=raw, timeout=10)
    return status, body if isinstance(body, str) else json.dumps(body)


def reply_text(xml: str) -> str:
    return parse_message(xml).content


def test_url_verification_answers_the_echostr(gateway) -> None:
    status, body = http("GET", gateway + signed(echostr="hello-wechat"))
    assert (status, body) == (200, "hello-wechat")


def test_a_wrong_signature_is_refused(gateway) -> None:
    query = "?" + urlencode({"signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "x"})
    assert http("GET", gateway + query)[0] == 403
    assert post(gateway, text_message("你好", "9001"), query)[0] == 403


def test_a_text_message_gets_a_passive_reply(gateway) -> None:
    status, body = post(gateway, text_message("你好", "1001"))
    assert status == 200 and reply_text(body) == "小星收到：你好"
    assert parse_message(body).target == "oUser1"


def test_a_retried_message_is_answered_once(gateway) -> None:
    before = FakeRasa.received.count("重复的消息")
    first = post(gateway, text_message("重复的消息", "1002"))
    again = [post(gateway, text_message("重复的消息", "1002")) for _ in range(3)]
    assert reply_text(first[1]) == "小星收到：重复的消息"
    assert again == [(200, "success")] * 3
    assert FakeRasa.received.count("重复的消息") == before + 1


@pytest.mark.parametrize(
    "raw", [b"", b"not xml", b"<xml><a>1</a></xml>", b"<xml><MsgType>text</MsgType></xml>"]
)
def test_malformed_xml_is_refused(gateway, raw) -> None:
    assert post(gateway, raw)[0] == 400


def test_tencents_safe_mode_vector_is_decrypted_and_answered_encrypted(gateway) -> None:
    """Vector A2: a video message encrypted by Tencent's sample; the reply is encrypted back."""
    raw = f"<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[{A2_ENCRYPT}]]></Encrypt></xml>"
    query = signed(A2_TIMESTAMP, A2_NONCE, encrypt_type="aes", msg_signature=A2_MSG_SIGNATURE)
    status, body = post(gateway, raw.encode(), query)
    assert status == 200
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    reply = crypto.decrypt_message(
        body, _tag(body, "MsgSignature"), _tag(body, "TimeStamp"), _tag(body, "Nonce")
    )
    answer = parse_message(reply)
    assert answer.content == messages.WECHAT_UNSUPPORTED["other"]
    assert answer.target == "gh_7f083739789a"  # the sender of Tencent's sample message


def test_a_wrong_msg_signature_is_refused(gateway) -> None:
    raw = f"<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[{A2_ENCRYPT}]]></Encrypt></xml>"
    query = signed(A2_TIMESTAMP, A2_NONCE, encrypt_type="aes", msg_signature="12345")
    assert post(gateway, raw.encode(), query)[0] == 403


def test_a_slow_bot_answers_through_the_customer_service_api(gateway) -> None:
    started = time.monotonic()
    status, body = post(gateway, text_message("慢", "1003", user="oSlow"))
    assert (status, body) == (200, "success") and time.monotonic() - started < 5
    assert sent_to("oSlow", SLOW_SECONDS + 10) == ["小星收到：慢"]
    assert FakeWechatApi.tokens_issued == 2  # the refused token was replaced once, then cached


def test_buttons_become_options_and_a_digit_picks_one(gateway) -> None:
    options = reply_text(post(gateway, text_message("选", "1004", user="oPick"))[1])
    assert "1. 信用卡年费" in options and "回复数字" in options
    post(gateway, text_message("1", "1005", user="oPick"))
    assert FakeRasa.received[-1] == "/kb_choose"
    post(gateway, text_message("1", "1006", user="oPick"))  # options are used once per reply …
    assert FakeRasa.received[-1] == "/kb_choose"  # … but stay until the next reply offers others


def test_a_long_answer_is_split(gateway) -> None:
    first = reply_text(post(gateway, text_message("长", "1007", user="oLong"))[1])
    rest = sent_to("oLong")
    assert len(first.encode()) <= 2048 and rest and all(len(r.encode()) <= 2048 for r in rest)
    assert "\n".join([first, *rest]) == LONG_ANSWER


def test_events_and_other_messages_are_answered_politely(gateway) -> None:
    subscribe = (
        b"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[oNew]]></FromUserName>"
        b"<CreateTime>1700000001</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        b"<Event><![CDATA[subscribe]]></Event></xml>"
    )
    assert reply_text(post(gateway, subscribe)[1]) == messages.WECHAT_WELCOME
    unsubscribe = subscribe.replace(b"subscribe", b"unsubscribe").replace(b"1700000001", b"1700000002")
    assert post(gateway, unsubscribe) == (200, "success")
    image = (
        b"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[oNew]]></FromUserName>"
        b"<CreateTime>1700000003</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        b"<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>1008</MsgId></xml>"
    )
    assert reply_text(post(gateway, image)[1]) == messages.WECHAT_UNSUPPORTED["image"]
    voice = (
        b"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[oNew]]></FromUserName>"
        b"<CreateTime>1700000004</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId>"
        b"<Format><![CDATA[amr]]></Format><Recognition><![CDATA[\xe6\x9f\xa5\xe4\xbd\x99\xe9\xa2\x9d]]></Recognition>"
        b"<MsgId>1009</MsgId></xml>"
    )
    assert reply_text(post(gateway, voice)[1]) == "小星收到：查余额"


def agent_call(gateway: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    base = gateway.replace("/webhooks/wechat", "/agent/api")
    _, login = http("POST", f"{base}/login", {"staff_no": "XH3001", "password": STAFF_PASSWORD})
    return http(method, base + path, body, headers={"Authorization": f"Bearer {login['token']}"})


def sent_to(openid: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(m["touser"] == openid for m in FakeWechatApi.sent):
        time.sleep(0.2)
    return [m["text"]["content"] for m in FakeWechatApi.sent if m["touser"] == openid]


def test_a_menu_click_is_a_message_and_oversized_or_empty_text_is_answered(gateway) -> None:
    click = (
        "<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[oMenu]]></FromUserName>"
        "<CreateTime>1700000010</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[查汇率]]></EventKey></xml>"
    ).encode()
    assert reply_text(post(gateway, click)[1]) == "小星收到：查汇率"
    limit = messages.MESSAGE_TOO_LONG.format(limit=2000)
    assert reply_text(post(gateway, text_message("转" * 2001, "3001", user="oMenu"))[1]) == limit
    assert reply_text(post(gateway, text_message("   ", "3002", user="oMenu"))[1]) == messages.EMPTY_MESSAGE


def test_handoff_on_wechat_agent_replies_through_the_api(gateway) -> None:
    notice = reply_text(post(gateway, text_message("转人工", "2001", user="oHuman"))[1])
    assert "正在为您转接" in notice and "登记回电" in notice  # nobody online yet: a callback is offered
    assert agent_call(gateway, "POST", "/conversations/oHuman/claim")[0] == 200
    assert "人工客服马骏已接入" in sent_to("oHuman")[0]
    assert post(gateway, text_message("在吗", "2002", user="oHuman")) == (200, "success")  # the bot is silent
    assert agent_call(gateway, "POST", "/conversations/oHuman/messages", {"text": "您好，我是马骏"})[0] == 200
    assert "您好，我是马骏" in sent_to("oHuman")
    _, body = agent_call(gateway, "GET", "/conversations/oHuman")
    assert [t["text"] for t in body["transcript"] if t["who"] == "customer"] == ["在吗"]


def test_outside_the_48_hour_window_the_agent_is_told(gateway) -> None:
    post(gateway, text_message("转人工", "2003", user="oAway"))
    agent_call(gateway, "POST", "/conversations/oAway/claim")
    assert agent_call(gateway, "POST", "/conversations/oAway/messages", {"text": "您好"})[0] == 200
    _, body = agent_call(gateway, "GET", "/conversations/oAway")
    assert "45015" in body["transcript"][-1]["text"] and "48 小时" in body["transcript"][-1]["text"]


def _tag(xml: str, name: str) -> str:
    start = xml.index(f"<{name}>") + len(name) + 2
    value = xml[start : xml.index(f"</{name}>")]
    return value.removeprefix("<![CDATA[").removesuffix("]]>")
