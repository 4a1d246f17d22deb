"""What the staff pages' JSON APIs share (agent console, supervisors' dashboard): bearer-token
checks, JSON bodies that may be malformed, and errors with a message in Chinese for the page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sanic import Request, response
from sanic.response import HTTPResponse

from bot.handoff.agents import Agent, AgentDirectory, NotAuthenticated

Handler = Callable[..., Awaitable[HTTPResponse]]


def error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object; empty for a missing, malformed or non-object body."""
    try:
        body = request.json
    except Exception:  # sanic raises on malformed JSON
        return {}
    return body if isinstance(body, dict) else {}


def staff_only(
    agents: AgentDirectory, kind: str, allowed: Callable[[Agent], bool] = lambda _agent: True
) -> Callable[[Handler], Handler]:
    """A decorator: the handler runs for a valid ``Bearer`` token of a ``kind`` login whose staff member
    is ``allowed`` (401 / 403 otherwise); ``request.ctx.agent`` and ``request.ctx.token`` are set."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def check(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error(401, "missing token", "请先登录。")
            try:
                agent = await asyncio.to_thread(agents.authenticate, token.strip(), kind)
            except NotAuthenticated:
                return error(401, "invalid token", "登录已失效，请重新登录。")
            if not allowed(agent):
                return error(403, "forbidden", "您的角色无权访问此页面。")
            request.ctx.agent, request.ctx.token = agent, token.strip()
            return await handler(request, *args, **kwargs)

        return check

    return decorate
