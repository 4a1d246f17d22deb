"""The gateway: where customer messages enter and replies leave, and where agents work.

It owns the HTTP surface: the REST channel, the web chat (Socket.IO, ``bot.webchat``), the agent
console (``bot.handoff.console``). It checks every request before anything reaches the assistant
and masks PII (card and ID numbers, phone numbers, e-mail addresses: ``bot.privacy``), so that
Rasa, the actions, their logs and the tracker store never hold them. Each message then goes to
``bot.conversation.Conversations``, which decides whether the bot or a person answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages, metrics, structured_logs
from bot.analytics.admin import Reporting, admin_blueprint
from bot.analytics.capture import Capture, TrackerEvents
from bot.conversation import Conversations
from bot.handoff.agents import AgentDirectory
from bot.handoff.console import Hub, console_blueprint
from bot.handoff.desk import Desk, Item
from bot.handoff.knowledge import LazyKnowledgeBase
from bot.identity import TokenError, token_verifier, web_customer
from bot.inbound import InboundOnce
from bot.limits import Gatekeeper
from bot.privacy import (
    PiiSpan,
    Sealer,
    find_pii,
    handle_key,
    mask_every_log_record,
    mask_pii,
    pseudonym_key,
)
from bot.profile.access import Actor
from bot.profile.db import session_factory, upgrade
from bot.profile.errors import ProfileUnavailable
from bot.profile.models import Channel, Role
from bot.profile.service import ProfileService
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.replicas import shared_state
from bot.settings import Settings, load_settings
from bot.webchat import WebChat, widget_blueprint
from bot.wechat.api import OUTSIDE_WINDOW, CustomerServiceApi, WechatApiError
from bot.wechat.channel import WechatChannel, WechatConfig
from bot.wechat.store import WechatStore

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
RASA_TIMEOUT_SECONDS = 30
REST, WEBCHAT, WECHAT = "rest", "socketio", "wechat"  # channel names the actions and the desk see
CHANNEL_LABELS = {REST: "REST 接口", WEBCHAT: "网页在线客服", WECHAT: "微信公众号"}
GATEWAY_ACTOR = Actor("gateway", Role.BOT)
WECHAT_PURPOSE = "识别已绑定的微信用户"


class BadRequest(ValueError):
    """A request the gateway refuses, with the reason to show the client."""


def parse_rest_request(body: Any) -> tuple[str, str]:
    """Return (sender, text) from a REST channel body or raise ``BadRequest``."""
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS} characters")
    if not isinstance(text, str):
        raise BadRequest("'message' must be a string")
    return sender.strip(), text


def _bot_reply(sender: str, text: str) -> list[dict[str, str]]:
    return [{"recipient_id": sender, "text": text}]


class Gateway:
    """The gateway's parts: one object, built before the server starts, shared by its channels."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        sessions = session_factory(settings.profile_db)
        self.profiles = ProfileService(sessions)
        self.desk = Desk(sessions)
        self.agents = AgentDirectory(sessions)
        wait = settings.rasa_restart_wait_seconds
        self.rasa = RasaClient(settings.rasa_url, settings.rasa_auth_token, RASA_TIMEOUT_SECONDS, wait)
        self.shared = shared_state(settings.redis_url)
        self.hub = Hub(self.desk, self.shared)
        self.gatekeeper = Gatekeeper(settings.limits, self.shared)
        self.conversations = Conversations(
            self.desk, self.agents, self.rasa, self.hub.queue_changed, self.hub.customer_turn
        )
        self.seen = InboundOnce(sessions)
        self.webchat = WebChat(
            self.identify_token,
            self.chat,
            self.customer_left,
            self.catch_up,
            self.history,
            self.seen,
            settings.max_message_chars,
            self.gatekeeper,
            self.shared,
        )
        self.tokens = token_verifier(settings)
        self.sealer = Sealer(handle_key(settings))
        self.knowledge = LazyKnowledgeBase(settings)
        capture = Capture(sessions, TrackerEvents(settings.tracker_db), pseudonym_key(settings))
        self.reporting = Reporting(sessions, capture, self.knowledge, settings.kb_drafts_dir)
        self.wechat = self._wechat(settings, sessions)

    def _wechat(self, settings: Settings, sessions: Any) -> WechatChannel | None:
        """The WeChat channel when the Official Account is configured (``WECHAT_*`` variables)."""
        if not (settings.wechat_token and settings.wechat_app_id):
            return None
        config = WechatConfig(settings.wechat_token, settings.wechat_app_id, settings.wechat_aes_key)
        store = WechatStore(sessions)
        secret = settings.wechat_app_secret or ""
        api = CustomerServiceApi(settings.wechat_api_base, settings.wechat_app_id, secret, store)
        return WechatChannel(config, store, self.seen, api, self.wechat_message)

    async def wechat_message(self, openid: str, text: str) -> list[dict[str, Any]]:
        """A WeChat user's message; bound users (verified once by SMS) are known customers."""
        if not text.strip():
            return _bot_reply(openid, messages.EMPTY_MESSAGE)
        if len(text) > self.settings.max_message_chars:
            return _bot_reply(openid, messages.MESSAGE_TOO_LONG.format(limit=self.settings.max_message_chars))
        try:
            binding = await asyncio.to_thread(
                self.profiles.customer_by_binding,
                GATEWAY_ACTOR,
                Channel.WECHAT,
                openid,
                purpose=WECHAT_PURPOSE,
            )
            customer = binding.customer_no if binding is not None and binding.verified else None
            return await self.answer(openid, WECHAT, text, customer)
        except (RasaUnavailable, ProfileUnavailable) as error:
            logger.error("a WeChat message was not answered: %s", error)
            return _bot_reply(openid, messages.SERVICE_UNAVAILABLE)

    async def identify_token(self, token: str) -> str | None:
        return await asyncio.to_thread(web_customer, self.tokens.verify(token), self.profiles)

    async def chat(self, conversation: str, text: str, metadata: dict[str, str]) -> list[dict[str, Any]]:
        """A web chat message, masked like a REST one; an apology when it cannot be answered now."""
        try:
            customer, address = metadata.get("customer_no"), metadata.get("address")
            return await self.answer(conversation, WEBCHAT, text, customer, address)
        except (RasaUnavailable, ProfileUnavailable) as error:
            logger.error("a web chat message was not answered: %s", error)
            return _bot_reply(conversation, messages.SERVICE_UNAVAILABLE)

    async def answer(
        self, sender: str, channel: str, text: str, customer: str | None, address: str | None = None
    ) -> list[dict[str, Any]]:
        """Mask the message and let the bot or the agent who owns the conversation have it.

        A customer or address over its rate limit gets a notice instead (``bot.limits``).
        """
        structured_logs.set_conversation(sender)  # for every record of this request's task
        if not await self.gatekeeper.message_allowed(sender, address):
            return _bot_reply(sender, messages.TOO_FAST)
        found = find_pii(text)
        # received_at: the reporting measures the assistant's response time from here (bot.analytics)
        metadata = {**message_metadata(channel, customer, found, self.sealer), "received_at": time.time()}
        with metrics.timed("gateway"):
            try:
                replies = await self.conversations.handle(sender, channel, mask_pii(text, found), metadata)
            except (RasaUnavailable, ProfileUnavailable) as error:
                metrics.MESSAGES.labels(channel, "unanswered").inc()
                metrics.ERRORS.labels(type(error).__name__).inc()
                raise
        metrics.MESSAGES.labels(channel, "answered" if replies else "to_agent").inc()
        return replies

    async def count_queue(self) -> None:
        """The queue-length gauge, read from the desk when Prometheus scrapes (shared by replicas)."""
        try:
            counts = await asyncio.to_thread(self.desk.counts)
        except ProfileUnavailable:
            return
        for status, count in counts.items():
            metrics.QUEUE_LENGTH.labels(status).set(count)

    async def customer_left(self, conversation: str) -> None:
        item = await asyncio.to_thread(self.desk.customer_left, conversation)
        if item is not None:
            await self.hub.customer_left(item)

    async def history(self, conversation: str) -> list[dict[str, Any]]:
        """The tracker's events for a page that reconnects or reloads (none when Rasa is away)."""
        try:
            return await self.rasa.tracker_events(conversation)
        except RasaUnavailable as error:
            logger.warning("no history for a web chat session: %s", error)
            return []

    async def catch_up(self, conversation: str) -> list[dict[str, Any]]:
        """What a reconnecting customer missed while no socket was open."""
        return [{"text": t.text} for t in await asyncio.to_thread(self.desk.undelivered, conversation)]

    async def deliver(self, item: Item, replies: list[dict[str, Any]]) -> None:
        """Agent and bot messages initiated from the console, on the customer's channel.

        A customer with no open socket (REST, or a closed tab) gets them with their next request.
        """
        if item.channel == WECHAT and self.wechat is not None:
            await self._deliver_on_wechat(item, replies)
            return
        if await self.webchat.emit(item.conversation_id, replies):
            await asyncio.to_thread(self.desk.mark_delivered, item.conversation_id)
            return
        for message in replies:
            if not (message.get("metadata") or {}).get("agent_turn"):  # agent turns are stored already
                await asyncio.to_thread(
                    self.desk.hold_for_customer, item.conversation_id, message.get("text", "")
                )

    async def _deliver_on_wechat(self, item: Item, replies: list[dict[str, Any]]) -> None:
        """Through the customer-service API; when WeChat refuses (48-hour window …) the agent is told."""
        try:
            await self.wechat.deliver(item.conversation_id, replies)
            await asyncio.to_thread(self.desk.mark_delivered, item.conversation_id)
        except WechatApiError as error:
            note = messages.WECHAT_WINDOW_CLOSED if error.code == OUTSIDE_WINDOW else messages.WECHAT_NOT_SENT
            logger.warning("WeChat delivery failed: %s", error)
            await asyncio.to_thread(self.desk.note, item.conversation_id, note.format(code=error.code))
            await self.hub.conversation_changed(item)

    def console(self) -> Blueprint:
        return console_blueprint(
            self.desk,
            self.agents,
            self.hub,
            deliver=self.deliver,
            agent_said=self.conversations.agent_said,
            bot_resumes=self.conversations.bot_resumes,
            profiles=lambda: self.profiles,
            kb_search=self.knowledge.search,
        )


def create_app(settings: Settings) -> Sanic:
    app = Sanic("bankbot_gateway")
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    gateway = Gateway(settings)
    app.ctx.gateway = gateway
    gateway.webchat.server.attach(app)
    app.blueprint(gateway.console())
    app.blueprint(widget_blueprint())
    app.blueprint(admin_blueprint(gateway.agents, gateway.reporting, CHANNEL_LABELS))
    if gateway.wechat is not None:
        app.blueprint(gateway.wechat.blueprint())

    @app.before_server_start
    async def share(app: Sanic, _loop: Any) -> None:
        await gateway.shared.start()
        gateway.webchat.listen()

    @app.after_server_start
    async def report(app: Sanic, _loop: Any) -> None:
        app.ctx.capture = asyncio.create_task(
            gateway.reporting.keep_refreshing(settings.reporting_capture_seconds)
        )

    @app.before_server_stop
    async def stop_reporting(app: Sanic, _loop: Any) -> None:
        """Sanic 21 leaves its own background tasks pending at exit; this one is stopped here."""
        app.ctx.capture.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.capture

    @app.after_server_stop
    async def close_connections(app: Sanic, _loop: Any) -> None:
        await gateway.shared.stop()
        await gateway.rasa.close()

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        checks = {
            "rasa": await gateway.rasa.reachable("/"),
            "actions": await gateway.rasa.reachable(f"{settings.action_url}/health", absolute=True),
            "database": await asyncio.to_thread(gateway.desk.reachable),
            **({"redis": await gateway.shared.reachable()} if settings.redis_url else {}),
        }
        status = 200 if all(checks.values()) else 503
        return response.json({"ready": status == 200, "checks": checks}, status=status)

    @app.get("/metrics")
    async def prometheus(_request: Request) -> HTTPResponse:
        await gateway.count_queue()
        return response.raw(metrics.exposition(), content_type=metrics.EXPOSITION_TYPE)

    @app.post("/webhooks/rest/webhook")
    async def rest_webhook(request: Request) -> HTTPResponse:
        try:
            sender, text = parse_rest_request(_json_body(request))
        except BadRequest as error:
            return response.json({"error": str(error), "message": messages.BAD_REQUEST}, status=400)
        try:
            customer = await _identify(request, gateway)
        except TokenError as error:
            logger.warning("refused a web token: %s", error)
            return response.json({"error": "invalid token", "message": messages.LOGIN_EXPIRED}, status=401)
        except ProfileUnavailable as error:
            logger.error("cannot identify a web user, profile database unavailable: %s", error)
            customer = None  # general questions still work; account questions will apologise
        if not text.strip():
            return response.json(_bot_reply(sender, messages.EMPTY_MESSAGE))
        if len(text) > settings.max_message_chars:
            notice = messages.MESSAGE_TOO_LONG.format(limit=settings.max_message_chars)
            return response.json(_bot_reply(sender, notice))
        try:
            replies = await gateway.answer(sender, REST, text, customer, request.remote_addr or request.ip)
        except (RasaUnavailable, ProfileUnavailable) as error:
            logger.error("a REST message was not answered: %s", error)
            return response.json(_bot_reply(sender, messages.SERVICE_UNAVAILABLE), status=503)
        missed = await gateway.catch_up(sender)  # agent replies since the client's last request
        return response.json([*({"recipient_id": sender, **m} for m in missed), *replies])

    return app


def message_metadata(
    channel: str, customer: str | None, found: list[PiiSpan], sealer: Sealer
) -> dict[str, str]:
    """What Rasa learns about a message besides its masked text.

    ``customer_no`` only for a customer the gateway verified. For anyone else, the first phone number
    in the message goes along sealed (``phone_handle``): identity verification needs the real number,
    and only the action server can open it, for a few minutes.
    """
    if customer:
        return {"channel": channel, "customer_no": customer}
    phones = [span.value for span in found if span.kind == "phone"]
    return {"channel": channel, **({"phone_handle": sealer.seal(phones[0])} if phones else {})}


def _json_body(request: Request) -> Any:
    try:
        return request.json
    except Exception:  # sanic raises InvalidUsage subclasses for malformed JSON
        return None


async def _identify(request: Request, gateway: Gateway) -> str | None:
    """The customer behind ``Authorization: Bearer <token>``; None for anonymous requests.

    Only the gateway sets ``customer_no`` in the metadata Rasa receives: clients cannot claim one.
    """
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header is not 'Bearer <token>'")
    return await gateway.identify_token(token.strip())


def main() -> None:
    settings = load_settings()
    mask_every_log_record()
    structured_logs.configure()
    try:
        upgrade(settings.profile_db)  # the service desk's tables live in the profile database
    except ProfileUnavailable as error:
        logger.error("service desk unavailable until the database is reachable: %s", error)
    create_app(settings).run(
        host=settings.gateway_host, port=settings.gateway_port, access_log=False, workers=1
    )


if __name__ == "__main__":
    main()
