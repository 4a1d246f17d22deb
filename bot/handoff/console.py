"""The agent console: the page at ``/agent``, its JSON API under ``/agent/api/`` and live updates.

Every API call but login needs ``Authorization: Bearer <token>`` (401 otherwise). Agents see and
claim only conversations their skills cover (supervisors: all); a claim two agents race for is won
by one, the other gets 409, as does replying to a conversation that is closed or someone else's.
Live updates go over a WebSocket (``/agent/ws?token=…``): the queue whenever it changes, customer
messages of the agent's conversations, and a note when a customer disconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

from bot import messages
from bot.handoff.agents import Agent, AgentDirectory, NotAuthenticated
from bot.handoff.desk import Desk, DeskError, Forbidden, Item, Turn, visible_to
from bot.handoff.models import CLOSED, CONSOLE, HANDED_BACK
from bot.handoff.policy import escalation_policy
from bot.handoff.profile_panel import customer_panel
from bot.handoff.staff_api import Handler, add_logout, add_page, error, json_object, log_in, staff_only
from bot.privacy import find_pii, mask_pii
from bot.profile.errors import ProfileUnavailable
from bot.replicas import Alone

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
DISPOSITIONS = {
    "resolved": "已解决",
    "follow_up": "需后续跟进",
    "referred": "已转其他部门",
    "no_response": "客户未回复",
}
MAX_REPLY_CHARS = 2000


class Hub:
    """Open agent WebSockets, and what to push to whom.

    Pushes go through the replicas' shared channel (``bot.replicas``): the agent who must see a
    customer's message may be connected to another gateway replica than the customer.
    """

    def __init__(self, desk: Desk, shared: Alone) -> None:
        self.desk, self.shared = desk, shared
        self.sockets: dict[Any, Agent] = {}
        shared.on_event(self._push)

    async def queue_changed(self) -> None:
        await self.shared.publish({"kind": "queue"})

    async def to_owner(self, item: Item, message: dict[str, Any]) -> None:
        """To the agent who owns the conversation; while it waits, to everyone who could take it."""
        await self.shared.publish(
            {"kind": "owner", "agent": item.agent, "skill": item.skill, "message": message}
        )

    async def customer_turn(self, item: Item, turn: Turn) -> None:
        await self.to_owner(
            item, {"type": "turn", "conversation_id": item.conversation_id, "turn": turn.as_dict()}
        )

    async def customer_left(self, item: Item) -> None:
        await self.to_owner(item, {"type": "customer_left", "conversation_id": item.conversation_id})
        await self.conversation_changed(item)

    async def conversation_changed(self, item: Item) -> None:
        await self.to_owner(item, {"type": "conversation", "conversation": item.as_dict()})

    async def _push(self, event: dict[str, Any]) -> None:
        """An event from any replica, for the agents connected to this one."""
        if not self.sockets:
            return
        if event["kind"] == "queue":
            waiting = await asyncio.to_thread(self.desk.waiting)
            for socket, agent in list(self.sockets.items()):
                items = visible_to(agent, waiting)
                await self._send(
                    socket, {"type": "queue", "items": [item.as_dict(pos) for item, pos in items]}
                )
            return
        owner, skill = event["agent"], event["skill"]
        for socket, agent in list(self.sockets.items()):
            if agent.staff_no == owner or (owner is None and agent.can_take(skill)):
                await self._send(socket, event["message"])

    async def _send(self, socket: Any, message: dict[str, Any]) -> None:
        try:
            await socket.send(json.dumps(message, ensure_ascii=False))
        except Exception:  # a closed socket is dropped; its handler cleans up too
            self.sockets.pop(socket, None)


def console_blueprint(
    desk: Desk,
    agents: AgentDirectory,
    hub: Hub,
    deliver: Callable[[Item, list[dict[str, Any]]], Awaitable[None]],
    agent_said: Callable[[Item, Turn], Awaitable[None]],
    bot_resumes: Callable[[Item, str], Awaitable[list[dict[str, Any]]]],
    profiles: Callable[[], Any],
    kb_search: Callable[[str], list[dict[str, str]]],
) -> Blueprint:
    bp = Blueprint("agent_console", url_prefix="/agent")

    def authenticated(handler: Handler) -> Handler:
        @wraps(handler)
        async def answer(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                return await handler(request, *args, **kwargs)
            except DeskError as refused:
                return error(refused.status, str(refused), _desk_message(refused))

        return staff_only(agents, CONSOLE)(answer)

    add_page(bp, STATIC, "agent.html")
    add_logout(bp, agents, authenticated)

    @bp.post("/api/login")
    async def login(request: Request) -> HTTPResponse:
        outcome = await log_in(request, agents, CONSOLE)
        if isinstance(outcome, HTTPResponse):
            return outcome
        token, agent = outcome
        return response.json({"token": token, "agent": _agent_json(agent)})

    @bp.get("/api/meta")
    @authenticated
    async def meta(request: Request) -> HTTPResponse:
        return response.json(
            {
                "agent": _agent_json(request.ctx.agent),
                "skills": escalation_policy().skills,
                "dispositions": DISPOSITIONS,
            }
        )

    @bp.get("/api/queue")
    @authenticated
    async def queue(request: Request) -> HTTPResponse:
        items = await asyncio.to_thread(desk.queue_for, request.ctx.agent)
        return response.json({"items": [item.as_dict(position) for item, position in items]})

    @bp.get("/api/conversations")
    @authenticated
    async def mine(request: Request) -> HTTPResponse:
        items = await asyncio.to_thread(desk.owned_by, request.ctx.agent)
        return response.json({"items": [item.as_dict() for item in items]})

    @bp.get("/api/conversations/<conversation_id>")
    @authenticated
    async def conversation(request: Request, conversation_id: str) -> HTTPResponse:
        item, turns = await asyncio.to_thread(desk.get, conversation_id)
        _may_see(request.ctx.agent, item)
        return response.json({"conversation": item.as_dict(), "transcript": [t.as_dict() for t in turns]})

    @bp.post("/api/conversations/<conversation_id>/claim")
    @authenticated
    async def claim(request: Request, conversation_id: str) -> HTTPResponse:
        item = await asyncio.to_thread(desk.claim, conversation_id, request.ctx.agent)
        joined = {"handoff_state": "agent", "agent_name": item.agent_name}
        await deliver(
            item, [{"text": messages.AGENT_JOINED.format(name=item.agent_name), "metadata": joined}]
        )
        await hub.queue_changed()
        return response.json({"conversation": item.as_dict()})

    @bp.post("/api/conversations/<conversation_id>/messages")
    @authenticated
    async def send(request: Request, conversation_id: str) -> HTTPResponse:
        text = json_object(request).get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY_CHARS:
            return error(400, "text required", f"回复内容不能为空，且不超过 {MAX_REPLY_CHARS} 字。")
        masked = mask_pii(text.strip(), find_pii(text.strip()))
        item, turn = await asyncio.to_thread(desk.agent_says, conversation_id, request.ctx.agent, masked)
        await deliver(
            item, [{"text": turn.text, "metadata": {"agent_name": turn.agent_name, "agent_turn": True}}]
        )
        await agent_said(item, turn)
        return response.json({"turn": turn.as_dict()})

    @bp.post("/api/conversations/<conversation_id>/transfer")
    @authenticated
    async def transfer(request: Request, conversation_id: str) -> HTTPResponse:
        skill = json_object(request).get("skill")
        if skill not in escalation_policy().skills:
            return error(400, "unknown skill", "请选择要转接的技能组。")
        item = await asyncio.to_thread(desk.transfer, conversation_id, request.ctx.agent, skill)
        label = escalation_policy().skills[skill]
        await deliver(
            item,
            [{"text": messages.TRANSFERRED.format(skill=label), "metadata": {"handoff_state": "queued"}}],
        )
        await hub.queue_changed()
        return response.json({"conversation": item.as_dict()})

    @bp.post("/api/conversations/<conversation_id>/handback")
    @authenticated
    async def handback(request: Request, conversation_id: str) -> HTTPResponse:
        return await _end(request, conversation_id, HANDED_BACK, "resolved")

    @bp.post("/api/conversations/<conversation_id>/close")
    @authenticated
    async def close(request: Request, conversation_id: str) -> HTTPResponse:
        disposition = json_object(request).get("disposition")
        if disposition not in DISPOSITIONS:
            return error(400, "unknown disposition", "请选择结束原因。")
        return await _end(request, conversation_id, CLOSED, disposition)

    async def _end(request: Request, conversation_id: str, outcome: str, disposition: str) -> HTTPResponse:
        item = await asyncio.to_thread(desk.end, conversation_id, request.ctx.agent, outcome, disposition)
        await deliver(item, await bot_resumes(item, "closed" if outcome == CLOSED else "handback"))
        await hub.conversation_changed(item)
        return response.json({"conversation": item.as_dict()})

    @bp.get("/api/conversations/<conversation_id>/customer")
    @authenticated
    async def customer(request: Request, conversation_id: str) -> HTTPResponse:
        item, _ = await asyncio.to_thread(desk.get, conversation_id)
        _may_see(request.ctx.agent, item)
        try:
            panel = await asyncio.to_thread(customer_panel, profiles(), request.ctx.agent, item.customer_no)
        except ProfileUnavailable:
            return error(503, "profile unavailable", "客户资料暂时无法查询，请稍后再试。")
        return response.json(panel)

    @bp.get("/api/kb")
    @authenticated
    async def knowledge(request: Request) -> HTTPResponse:
        query = (request.args.get("q") or "").strip()[:200]
        articles = await asyncio.to_thread(kb_search, query) if query else []
        return response.json({"articles": articles})

    @bp.websocket("/ws")
    async def live(request: Request, socket: Any) -> None:
        try:
            agent = await asyncio.to_thread(agents.authenticate, request.args.get("token") or "")
        except NotAuthenticated:
            await socket.close(code=4401, reason="invalid token")
            return
        hub.sockets[socket] = agent
        try:
            await hub.queue_changed()
            while await socket.recv() is not None:  # the console only listens; what it sends keeps it alive
                await asyncio.to_thread(agents.authenticate, request.args.get("token") or "")
        except NotAuthenticated:
            await socket.close(code=4401, reason="session ended")
        except ConnectionClosed:
            pass  # the agent closed the page
        finally:
            hub.sockets.pop(socket, None)

    return bp


def _may_see(agent: Agent, item: Item) -> None:
    """Agents open conversations they own or could claim; supervisors any."""
    if item.agent != agent.staff_no and not agent.can_take(item.skill):
        raise Forbidden("not your conversation")


def _agent_json(agent: Agent) -> dict[str, Any]:
    skills = escalation_policy().skills
    return {
        "staff_no": agent.staff_no,
        "name": agent.name,
        "role": agent.role.value,
        "role_label": agent.role.label,
        "skills": list(agent.skills),
        "skill_labels": {skill: skills.get(skill, skill) for skill in agent.skills},
    }


DESK_MESSAGES = {
    403: "您没有处理该会话的权限（技能组不匹配）。",
    404: "会话不存在或已结束。",
    409: "该会话已被其他坐席接入，或已结束，无法执行此操作。",
}


def _desk_message(refused: DeskError) -> str:
    return DESK_MESSAGES.get(refused.status, "请求无法处理，请刷新后重试。")
