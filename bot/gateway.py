"""The gateway: where customer messages enter and replies leave.

It owns the customer-facing HTTP surface (today the REST channel; later web widget,
WeChat and the agent console), checks every request before anything reaches the
assistant, and forwards valid messages to the Rasa server with PII masked (card and
ID numbers, phone numbers, e-mail addresses: ``bot.privacy``), so that Rasa, the
actions, their logs and the tracker store never hold them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages
from bot.identity import TokenError, token_verifier, web_customer
from bot.privacy import PiiSpan, Sealer, find_pii, handle_key, mask_every_log_record, mask_pii
from bot.profile.db import session_factory
from bot.profile.errors import ProfileUnavailable
from bot.profile.service import ProfileService
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
RASA_TIMEOUT_SECONDS = 30


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


def create_app(settings: Settings) -> Sanic:
    app = Sanic("bankbot_gateway")
    app.config.REQUEST_MAX_SIZE = 64 * 1024

    @app.before_server_start
    async def open_http(app: Sanic, _loop: Any) -> None:
        app.ctx.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RASA_TIMEOUT_SECONDS))
        app.ctx.tokens = token_verifier(settings)
        app.ctx.profiles = ProfileService(session_factory(settings.profile_db))
        app.ctx.sealer = Sealer(handle_key(settings))

    @app.after_server_stop
    async def close_http(app: Sanic, _loop: Any) -> None:
        await app.ctx.http.close()

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        checks = {
            "rasa": await _reachable(request.app.ctx.http, f"{settings.rasa_url}/"),
            "actions": await _reachable(request.app.ctx.http, f"{settings.action_url}/health"),
        }
        status = 200 if all(checks.values()) else 503
        return response.json({"ready": status == 200, "checks": checks}, status=status)

    @app.post("/webhooks/rest/webhook")
    async def rest_webhook(request: Request) -> HTTPResponse:
        try:
            sender, text = parse_rest_request(_json_body(request))
        except BadRequest as error:
            return response.json({"error": str(error), "message": messages.BAD_REQUEST}, status=400)
        try:
            customer = await _identify(request)
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
        found = find_pii(text)
        metadata = message_metadata("rest", customer, found, request.app.ctx.sealer)
        return await _forward_to_rasa(request.app.ctx.http, settings, sender, mask_pii(text, found), metadata)

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


async def _reachable(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as reply:
            return reply.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def _identify(request: Request) -> str | None:
    """The customer behind ``Authorization: Bearer <token>``; None for anonymous requests.

    Only the gateway sets ``customer_no`` in the metadata Rasa receives: clients cannot claim one.
    """
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header is not 'Bearer <token>'")
    identity = request.app.ctx.tokens.verify(token.strip())
    return await asyncio.to_thread(web_customer, identity, request.app.ctx.profiles)


async def _forward_to_rasa(
    http: aiohttp.ClientSession, settings: Settings, sender: str, text: str, metadata: dict[str, str]
) -> HTTPResponse:
    payload = {"sender": sender, "message": text, "metadata": metadata}
    url = f"{settings.rasa_url}/webhooks/gateway/webhook"
    try:
        async with http.post(url, json=payload) as reply:
            if reply.status == 200:
                return response.json(await reply.json())
            logger.error("Rasa answered HTTP %s for a REST message", reply.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.error("Rasa server unreachable: %s", error)
    return response.json(_bot_reply(sender, messages.SERVICE_UNAVAILABLE), status=503)


def main() -> None:
    settings = load_settings()
    mask_every_log_record()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    create_app(settings).run(
        host=settings.gateway_host, port=settings.gateway_port, access_log=False, workers=1
    )


if __name__ == "__main__":
    main()
