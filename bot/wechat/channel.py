"""``/webhooks/wechat``: where WeChat Official Account messages enter and passive replies leave.

GET answers WeChat's URL check (signature over token, timestamp, nonce → echostr). POST takes a
message in plaintext or safe mode (AES, ``msg_signature``; wechatpy does the cryptography), refuses a
wrong signature (403) or malformed XML (400), takes each message once (WeChat retries for 15 s:
``WechatStore.first_time``), and answers within WeChat's 5-second window with a passive reply when
the bot is fast enough; otherwise it answers ``success`` and sends the reply through the
customer-service API when it is ready. Buttons become numbered options; a digit picks one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot import messages
from bot.inbound import InboundOnce
from bot.wechat.api import CustomerServiceApi, WechatApiError
from bot.wechat.format import as_text, chunks
from bot.wechat.store import WechatStore

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
PASSIVE_SECONDS = 4.0  # WeChat waits 5 s for the HTTP answer
MAX_BODY_BYTES = 64 * 1024
MAX_OPENID = 64
SUCCESS = "success"  # "received, no passive reply"
Answer = Callable[[str, str], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class WechatConfig:
    token: str
    app_id: str
    aes_key: str | None  # None: plaintext mode


def incoming_text(message: Any) -> tuple[str | None, str | None]:
    """(text for the bot, or a notice to answer directly) for any WeChat message or event."""
    kind = message.type
    if kind == "text":
        return message.content or "", None  # empty: the gateway asks what they need
    if kind == "voice":
        recognised = (getattr(message, "recognition", None) or "").strip()
        return (recognised, None) if recognised else (None, messages.WECHAT_VOICE_UNCLEAR)
    if kind == "event":
        return _event_text(message)
    return None, messages.WECHAT_UNSUPPORTED.get(kind, messages.WECHAT_UNSUPPORTED["other"])


def _event_text(message: Any) -> tuple[str | None, str | None]:
    event = getattr(message, "event", "")
    if event in ("subscribe", "subscribe_scan"):
        return None, messages.WECHAT_WELCOME
    if event == "click" and getattr(message, "key", ""):
        return str(message.key), None  # menu keys are phrases the bot understands: "查余额", "转人工"
    return None, None  # unsubscribe, view, location reports …: nothing to say


def dedupe_key(message: Any) -> str:
    msg_id = getattr(message, "id", None)
    if msg_id:
        return f"wechat:{msg_id}"
    return (
        f"wechat-event:{message.source}:{message.create_time.timestamp():.0f}:{getattr(message, 'event', '')}"
    )


class WechatChannel:
    def __init__(
        self,
        config: WechatConfig,
        store: WechatStore,
        seen: InboundOnce,
        api: CustomerServiceApi,
        answer: Answer,
    ) -> None:
        self.config, self.store, self.seen, self.api, self.answer = config, store, seen, api, answer
        self.crypto = WeChatCrypto(config.token, config.aes_key, config.app_id) if config.aes_key else None
        self.background: set[asyncio.Task] = set()

    def blueprint(self) -> Blueprint:
        bp = Blueprint("wechat", url_prefix="/webhooks/wechat")

        @bp.get("/")
        async def verify_url(request: Request) -> HTTPResponse:
            return await self.verify_url(request)

        @bp.post("/")
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request)

        return bp

    def _signed(self, request: Request) -> bool:
        args = request.args
        try:
            check_signature(
                self.config.token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
            )
        except InvalidSignatureException:
            return False
        return True

    async def verify_url(self, request: Request) -> HTTPResponse:
        if not self._signed(request):
            return response.text("invalid signature", status=403)
        return response.text(request.args.get("echostr", ""))

    async def receive(self, request: Request) -> HTTPResponse:
        if not self._signed(request):
            return response.text("invalid signature", status=403)
        if len(request.body) > MAX_BODY_BYTES:
            return response.text("message too large", status=413)
        try:
            message = parse_message(self._plaintext(request))
        except InvalidSignatureException:
            return response.text("invalid msg_signature", status=403)
        except (InvalidAppIdException, ExpatError, ValueError, KeyError, TypeError, AttributeError) as error:
            logger.warning("malformed WeChat message refused: %s", type(error).__name__)
            return response.text("malformed message", status=400)
        source = getattr(message, "source", None)  # parse_message gives None for an empty body
        if not isinstance(source, str) or not 0 < len(source) <= MAX_OPENID:
            return response.text("malformed message: no sender", status=400)
        if not await asyncio.to_thread(self.seen.first_time, dedupe_key(message)):
            return response.text(SUCCESS)  # a retry of a message already being answered
        text, notice = incoming_text(message)
        if notice is not None or text is None:
            return self._passive(request, message, notice) if notice else response.text(SUCCESS)
        return await self._converse(request, message, text)

    def _plaintext(self, request: Request) -> str:
        body = request.body.decode("utf-8")
        if request.args.get("encrypt_type") != "aes":
            return body
        if self.crypto is None:
            raise ValueError("safe mode message but no EncodingAESKey configured")
        args = request.args
        return self.crypto.decrypt_message(
            body, args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        )

    async def _converse(self, request: Request, message: Any, text: str) -> HTTPResponse:
        openid = message.source
        chosen = await asyncio.to_thread(self.store.chosen, openid, text)
        work = asyncio.create_task(self.answer(openid, chosen or text))
        try:
            replies = await asyncio.wait_for(asyncio.shield(work), PASSIVE_SECONDS)
        except asyncio.TimeoutError:
            self._later(openid, work)  # the answer goes through the customer-service API
            return response.text(SUCCESS)
        pieces = await self._pieces(openid, replies)
        if not pieces:
            return response.text(SUCCESS)  # nothing to say now (a person owns the conversation)
        if len(pieces) > 1:
            self._keep(asyncio.create_task(self._send(openid, pieces[1:])))
        return self._passive(request, message, pieces[0])

    async def _pieces(self, openid: str, replies: list[dict[str, Any]]) -> list[str]:
        text, payloads = as_text(replies)
        if payloads:
            await asyncio.to_thread(self.store.offer, openid, payloads)
        return chunks(text) if text else []

    def _later(self, openid: str, work: asyncio.Task) -> None:
        async def deliver() -> None:
            await self._send(openid, await self._pieces(openid, await work))

        self._keep(asyncio.create_task(deliver()))

    async def deliver(self, openid: str, replies: list[dict[str, Any]]) -> None:
        """Messages the bot or an agent sends outside a request (handoff); errors reach the caller."""
        for piece in await self._pieces(openid, replies):
            await self.api.send_text(openid, piece)

    async def _send(self, openid: str, pieces: list[str]) -> None:
        try:
            for piece in pieces:
                await self.api.send_text(openid, piece)
        except WechatApiError as error:
            logger.error("a WeChat reply could not be sent: %s", error)

    def _keep(self, task: asyncio.Task) -> None:
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _passive(self, request: Request, message: Any, text: str) -> HTTPResponse:
        xml = TextReply(content=text, message=message).render()
        if request.args.get("encrypt_type") == "aes" and self.crypto is not None:
            xml = self.crypto.encrypt_message(
                xml, request.args.get("nonce", ""), request.args.get("timestamp")
            )
        return response.text(xml, content_type="application/xml")
