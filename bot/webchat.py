"""The web chat channel: Socket.IO with the event protocol of Rasa's socketio channel.

A client connects (optionally with ``auth={"token": <signed customer token>}``), asks for a
session (``session_request`` → ``session_confirm``), sends ``user_uttered`` and receives
``bot_uttered``. The session id is the conversation id; every socket of a session joins its room,
so replies, agent messages and the bot's return after a handoff reach all of the customer's tabs,
also when they come from the agent console rather than from the customer's own message, and also
when that tab is connected to another gateway replica (``bot.replicas``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import socketio
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from bot import messages
from bot.identity import TokenError
from bot.inbound import InboundOnce
from bot.limits import Gatekeeper
from bot.replicas import Alone
from bot.settings import PROJECT_ROOT
from bot.static_files import static_file

logger = logging.getLogger(__name__)

CHANNEL = "socketio"
MAX_SESSION_ID = 128
MAX_HISTORY = 100  # messages restored into a reloaded page
WIDGET = Path(__file__).resolve().with_name("widget")
SOCKET_IO_CLIENT = PROJECT_ROOT / "web" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
MISSING = "not found (the widget's files are installed by `make setup`)"
Handle = Callable[[str, str, dict[str, Any]], Awaitable[list[dict[str, Any]]]]


def bot_uttered(message: dict[str, Any]) -> dict[str, Any]:
    """Rasa's socketio shape: buttons become ``quick_replies``; metadata (KB article, agent) kept."""
    data: dict[str, Any] = {"text": message.get("text", "")}
    if message.get("buttons"):
        data["quick_replies"] = [
            {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
            for b in message["buttons"]
        ]
    if message.get("metadata"):
        data["metadata"] = message["metadata"]
    return data


def history_from_events(events: list[dict[str, Any]], customer: str | None) -> list[dict[str, Any]]:
    """The conversation so far as the widget shows it, from Rasa tracker events.

    Nothing for a socket that is not the customer the conversation was verified for: a session id
    alone must not reveal a logged-in customer's answers.
    """
    owners = {(e.get("metadata") or {}).get("customer_no") for e in events if e.get("event") == "user"}
    if (owners - {None}) - {customer}:
        return []
    shown = []
    for event in events:
        text = event.get("text") or ""
        at = event.get("timestamp")
        if event.get("event") == "user" and text and not text.startswith("/"):
            shown.append({"who": "customer", "text": text, "at": at})
        elif event.get("event") == "bot" and text:
            data = event.get("data") or {}
            message = bot_uttered(
                {"text": text, "buttons": data.get("buttons"), "metadata": event.get("metadata")}
            )
            shown.append({"who": "bot", "at": at, **message})
    return shown[-MAX_HISTORY:]


def client_address(environ: dict[str, Any]) -> str:
    """The client's address as Sanic sees it (behind a proxy: the forwarded one, when configured)."""
    request = environ.get("sanic.request")
    return (request.remote_addr or request.ip) if request is not None else environ.get("REMOTE_ADDR", "")


class WebChat:
    def __init__(
        self,
        identify: Callable[[str], Awaitable[str | None]],
        handle: Handle,
        on_leave: Callable[[str], Awaitable[None]],
        on_join: Callable[[str], Awaitable[list[dict[str, Any]]]],
        history: Callable[[str], Awaitable[list[dict[str, Any]]]],
        seen: InboundOnce,
        max_chars: int,
        gatekeeper: Gatekeeper,
        shared: Alone,
    ) -> None:
        self.identify, self.handle, self.on_leave, self.on_join = identify, handle, on_leave, on_join
        self.history, self.seen, self.max_chars, self.gatekeeper = history, seen, max_chars, gatekeeper
        self.shared = shared
        self.server = socketio.AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], client_manager=shared.socketio_manager()
        )
        self.server.on("connect", self._connect)
        self.server.on("session_request", self._session_request)
        self.server.on("user_uttered", self._user_uttered)
        self.server.on("disconnect", self._disconnect)

    def listen(self) -> None:
        """Join the other replicas' emits now, not at this replica's first customer socket (python-socketio's
        default): agents' messages and operators' checks then see every replica subscribed from the start."""
        if not self.server.manager_initialized:
            self.server.manager_initialized = True
            self.server.manager.initialize()

    async def emit(self, conversation_id: str, replies: list[dict[str, Any]]) -> bool:
        """Send to every open socket of the conversation, on any replica; False when none is open."""
        if not await self.shared.online(conversation_id):
            return False
        for message in replies:
            await self.server.emit("bot_uttered", bot_uttered(message), room=conversation_id)
        return True

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            customer = await self.identify(token) if isinstance(token, str) and token else None
        except TokenError as error:
            logger.warning("refused a web chat token: %s", error)
            return False
        address = client_address(environ)
        if not self.gatekeeper.socket_opened(address):
            logger.warning("refused a web chat socket: too many from one address")
            return False
        session = {"customer_no": customer, "conversation": None, "address": address}
        await self.server.save_session(sid, session)
        return True

    async def _session_request(self, sid: str, data: Any) -> None:
        requested = data.get("session_id") if isinstance(data, dict) else None
        valid = (
            isinstance(requested, str) and 0 < len(requested) <= MAX_SESSION_ID and requested.isprintable()
        )
        conversation = requested if valid else uuid.uuid4().hex
        session = await self.server.get_session(sid)
        session["conversation"] = conversation
        await self.server.save_session(sid, session)
        await self.server.enter_room(sid, conversation)
        await self.shared.joined(conversation, sid)
        await self.server.emit("session_confirm", conversation, room=sid)
        events = await self.history(conversation)
        await self.server.emit("history", history_from_events(events, session["customer_no"]), room=sid)
        for message in await self.on_join(conversation):
            await self.server.emit("bot_uttered", bot_uttered(message), room=sid)

    async def _user_uttered(self, sid: str, data: Any) -> dict[str, Any]:
        """Answers in ``bot_uttered`` events; the return value is the client's acknowledgement.

        A message resent after a dropped connection (same ``message_id``) is acknowledged again but
        answered only once.
        """
        session = await self.server.get_session(sid)
        conversation = session.get("conversation")
        text = data.get("message") if isinstance(data, dict) else None
        if conversation is None:
            await self.server.emit("bot_uttered", {"text": messages.BAD_REQUEST}, room=sid)
            return {"ok": False}
        message_id = data.get("message_id")
        if isinstance(message_id, str) and 0 < len(message_id) <= MAX_SESSION_ID:
            if not await asyncio.to_thread(self.seen.first_time, f"web:{conversation}:{message_id}"):
                return {"ok": True, "duplicate": True}
        if not isinstance(text, str) or not text.strip():
            await self.emit(conversation, [{"text": messages.EMPTY_MESSAGE}])
            return {"ok": True}
        if len(text) > self.max_chars:
            await self.emit(conversation, [{"text": messages.MESSAGE_TOO_LONG.format(limit=self.max_chars)}])
            return {"ok": True}
        echo = {"text": text, "message_id": message_id}
        await self.server.emit(
            "user_echo", echo, room=conversation, skip_sid=sid
        )  # the customer's other tabs
        metadata = {"address": session["address"]}
        if session.get("customer_no"):
            metadata["customer_no"] = session["customer_no"]
        await self.emit(conversation, await self.handle(conversation, text, metadata))
        return {"ok": True}

    async def _disconnect(self, sid: str) -> None:
        session = await self.server.get_session(sid)
        if session:
            self.gatekeeper.socket_closed(session["address"])
        conversation = session.get("conversation") if session else None
        if conversation and not await self.shared.left(conversation, sid):
            await self.on_leave(conversation)


def widget_blueprint() -> Blueprint:
    """The demo page at ``/`` and the widget's files (``bot/widget/``, socket.io-client from web/)."""
    bp = Blueprint("widget")

    @bp.get("/")
    async def demo(_request: Request) -> HTTPResponse:
        return await static_file(WIDGET / "demo.html", WIDGET)

    @bp.get("/widget/<name>")
    async def widget_file(_request: Request, name: str) -> HTTPResponse:
        return await static_file(WIDGET / name, WIDGET)

    @bp.get("/widget/vendor/socket.io.min.js")
    async def socket_client(_request: Request) -> HTTPResponse:
        return await static_file(SOCKET_IO_CLIENT, SOCKET_IO_CLIENT.parent, missing=MISSING)

    return bp
