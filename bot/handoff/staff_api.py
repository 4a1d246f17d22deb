"""What the staff pages share (agent console, supervisors' dashboard): the page and its files,
logging in and out, bearer-token checks, JSON bodies that may be malformed, and errors with a message
in Chinese for the page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.handoff.agents import Agent, AgentDirectory, LoginFailed, NotAuthenticated
from bot.static_files import static_file

logger = logging.getLogger(__name__)

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


def add_page(bp: Blueprint, folder: Path, page: str) -> None:
    """The page at the blueprint's root and the files it loads from ``static/<name>``."""

    @bp.get("/")
    async def staff_page(_request: Request) -> HTTPResponse:
        return await static_file(folder / page, folder)

    @bp.get("/static/<name>")
    async def staff_static(_request: Request, name: str) -> HTTPResponse:
        return await static_file(folder / name, folder)


async def log_in(request: Request, agents: AgentDirectory, kind: str) -> tuple[str, Agent] | HTTPResponse:
    """A ``kind`` login from ``{"staff_no", "password"}``: the token and the staff member, or the
    error response to send (400 for a malformed body, 401 for wrong credentials)."""
    body = json_object(request)
    staff_no, password = body.get("staff_no"), body.get("password")
    if not isinstance(staff_no, str) or not isinstance(password, str) or len(password) > 256:
        return error(400, "staff_no and password required", "请输入工号和密码。")
    try:
        return await asyncio.to_thread(agents.login, staff_no.strip(), password, kind)
    except LoginFailed:
        logger.warning("failed %s login for %s", kind, staff_no[:16])
        return error(401, "wrong staff number or password", "工号或密码错误。")


def add_logout(bp: Blueprint, agents: AgentDirectory, guard: Callable[[Handler], Handler]) -> None:
    """``POST /api/logout``: the bearer token stops working."""

    @bp.post("/api/logout")
    @guard
    async def logout(request: Request) -> HTTPResponse:
        await asyncio.to_thread(agents.logout, request.ctx.token)
        return response.json({"ok": True})
