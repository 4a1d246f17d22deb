"""The Rasa input channel the gateway talks to (``credentials.yml``: ``bot.channels.GatewayInput``).

Why not Rasa's ``rest`` channel: its output drops everything but text and buttons, and customers'
clients need what actions attach to a reply (the knowledge-base article an answer came from, for
the "有用 / 没用" buttons and for agents). This channel keeps those fields as ``metadata`` and
records the customer's real channel (web, WeChat …), which the gateway names, as Rasa's input
channel. Input is checked by the gateway before it arrives here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

CHANNEL_NAME = "gateway"
# Keys of an action's message (``dispatcher.utter_message(..., knowledge_base={...})``) passed on;
# ``handoff`` is taken off by the gateway (bot/conversation.py), customers never see it.
FORWARDED_METADATA = ("knowledge_base", "handoff")


class GatewayOutput(CollectingOutputChannel):
    """Collects replies with their forwarded metadata; one reply is one message (no splitting)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def _with_metadata(self, message: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
        metadata = {key: extras[key] for key in FORWARDED_METADATA if extras.get(key)}
        return {**message, "metadata": metadata} if metadata else message

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._with_metadata(self._message(recipient_id, text=text), kwargs))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        message = self._message(recipient_id, text=text, buttons=buttons)
        await self._persist_message(self._with_metadata(message, kwargs))


class GatewayInput(InputChannel):
    """``POST /webhooks/gateway/webhook`` with ``{"sender", "message", "metadata": {"channel"}}``."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            collector = GatewayOutput()
            message = UserMessage(
                body.get("message"),
                collector,
                body.get("sender"),
                input_channel=metadata.get("channel") or CHANNEL_NAME,
                metadata=metadata,
            )
            try:
                await on_new_message(message)
            except Exception:  # one broken turn must not take the channel down; the gateway apologises
                logger.exception("processing a gateway message failed")
                return response.json({"error": "processing failed"}, status=500)
            return response.json(collector.messages)

        return webhook
