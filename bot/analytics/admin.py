"""The supervisors' dashboard: the page at ``/admin``, its JSON API under ``/admin/api/`` and CSV exports.

Only supervisors log in here (a dashboard login does not make them present for the customer queue).
Every read first records what is new (``Reporting.refresh``, at most every few seconds), then
computes the measures for the requested period, channel and whether simulated traffic counts:
``?first=YYYY-MM-DD&last=YYYY-MM-DD&channel=web&simulated=0``. Knowledge gaps need the embedding
model, which is loaded on the first request for them.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse
from sqlalchemy.orm import sessionmaker

from bot.analytics.capture import Capture
from bot.analytics.gaps import draft_article, drafted, knowledge_gaps
from bot.analytics.measures import Scope, overview
from bot.dates import CHINA
from bot.handoff.agents import Agent, AgentDirectory
from bot.handoff.knowledge import LazyKnowledgeBase
from bot.handoff.models import DASHBOARD
from bot.handoff.policy import escalation_policy
from bot.handoff.staff_api import add_logout, add_page, error, log_in, staff_only
from bot.profile.errors import ProfileUnavailable
from bot.profile.models import Role, TicketCategory
from bot.settings import PROJECT_ROOT
from bot.static_files import static_file

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
CHARTS = PROJECT_ROOT / "web" / "node_modules" / "chart.js" / "dist"
# Intents without a customer-facing label in actions/messages.yml (conversation, not business).
CONVERSATION_INTENTS = {
    "greet": "问候",
    "goodbye": "告别",
    "thank": "致谢",
    "affirm": "肯定答复",
    "deny": "否定答复",
    "bot_challenge": "询问是否机器人",
    "out_of_scope": "超出服务范围",
    "inform": "补充信息",
    "nlu_fallback": "未能识别",
}
DEFAULT_DAYS, MAX_DAYS = 14, 366
REFRESH_SECONDS = 5.0


def intent_labels() -> dict[str, str]:
    """Chinese names of the intents, for chart labels: the business intents' customer-facing labels
    (actions/messages.yml) and the conversational ones."""
    loaded = yaml.safe_load((PROJECT_ROOT / "actions" / "messages.yml").read_text(encoding="utf-8"))
    return {**CONVERSATION_INTENTS, **(loaded.get("intent_labels") or {})}


class BadScope(ValueError):
    """A period or filter the dashboard cannot show; the message is for the supervisor."""


def parse_scope(args: Any, today: dt.date, channels: Iterable[str]) -> Scope:
    """The period (default: the last 14 days), channel and simulated-traffic switch from query args."""
    try:
        last = dt.date.fromisoformat(args.get("last") or today.isoformat())
        first = dt.date.fromisoformat(
            args.get("first") or (last - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        )
    except ValueError as bad:
        raise BadScope("日期格式应为 YYYY-MM-DD。") from bad
    if first > last:
        raise BadScope("开始日期不能晚于结束日期。")
    if (last - first).days >= MAX_DAYS:
        raise BadScope(f"查询区间最长 {MAX_DAYS} 天。")
    channel = args.get("channel") or None
    if channel is not None and channel not in channels:
        raise BadScope("未知的渠道。")
    return Scope(first, last, channel, simulated=args.get("simulated", "1") != "0")


class Reporting:
    """The dashboard's data: the capture pipeline (run now and then) and the measures over it."""

    def __init__(self, sessions: sessionmaker, capture: Capture, knowledge: LazyKnowledgeBase, drafts: Path):
        self.sessions, self.capture, self.knowledge, self.drafts = sessions, capture, knowledge, drafts
        self._lock = asyncio.Lock()
        self._refreshed = 0.0

    async def refresh(self, force: bool = False) -> None:
        """Record new conversations unless that was done a moment ago (by any request)."""
        async with self._lock:
            if force or time.monotonic() - self._refreshed >= REFRESH_SECONDS:
                await asyncio.to_thread(self.capture.sync)
                self._refreshed = time.monotonic()

    async def keep_refreshing(self, every: float) -> None:
        """The background loop of a gateway: reporting stays current even when nobody looks."""
        while True:
            try:
                await self.refresh(force=True)
            except ProfileUnavailable as away:
                logger.warning("reporting capture postponed: %s", away)
            await asyncio.sleep(every)

    async def overview(self, scope: Scope) -> dict[str, Any]:
        """The measures, plus the page's tables exactly as their CSV exports have them."""
        await self.refresh()
        data = await asyncio.to_thread(self._in_session, lambda session: overview(session, scope))
        return {**data, "tables": {name: rows(data) for name, rows in EXPORTS.items()}}

    async def gaps(self, scope: Scope) -> dict[str, Any] | None:
        """Knowledge gaps, or None when the knowledge base (its encoder) is unavailable."""
        await self.refresh()
        retriever = await asyncio.to_thread(self.knowledge.retriever)
        if retriever is None:
            return None
        found = await asyncio.to_thread(self._in_session, lambda s: knowledge_gaps(s, scope, retriever))
        done = drafted(self.drafts)
        for group in found["groups"]:
            group["drafted"] = group["id"] in done
        return found

    def _in_session(self, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        with self.sessions() as session:
            return work(session)


# -- CSV exports: one per table on the page ----------------------------------------------------------


def _daily(data: dict[str, Any]) -> list[dict[str, Any]]:
    turns = {row["day"]: row for row in data["turns"]["per_day"]}
    return [{**row, **turns.get(row["day"], {})} for row in data["per_day"]]


EXPORTS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
    "daily": _daily,
    "handoff_reasons": lambda data: data["handoffs_by_reason"],
    "intents": lambda data: data["turns"]["top_intents"],
    "satisfaction": lambda data: data["satisfaction"]["distribution"],
    "complaints": lambda data: data["complaints"]["by_category"],
    "article_votes": lambda data: data["knowledge"]["article_votes"],
}


def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """CSV with a header from the first row's keys; a BOM so spreadsheet programs read the Chinese."""
    rows = list(rows)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["empty"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(_spreadsheet_safe(row) for row in rows)
    return out.getvalue()


def _spreadsheet_safe(row: dict[str, Any]) -> dict[str, Any]:
    """Customers' words never start a formula when the file is opened in a spreadsheet."""
    return {
        key: f"'{value}" if isinstance(value, str) and value[:1] in "=+-@" else value
        for key, value in row.items()
    }


def gap_rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "group": group["id"],
            "asked": group["asked"],
            "distinct_questions": group["distinct_questions"],
            "examples": " | ".join(e["text"] for e in group["examples"]),
            "reasons": ", ".join(f"{k}={v}" for k, v in group["reasons"].items()),
            "closest_article": (group["closest_article"] or {}).get("id", ""),
            "last_asked": group["last_asked"],
        }
        for group in found["groups"]
    ]


def _csv_response(rows: list[dict[str, Any]], name: str, scope: Scope) -> HTTPResponse:
    filename = f"{name}-{scope.first.isoformat()}-{scope.last.isoformat()}.csv"
    return response.text(
        csv_text(rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _is_supervisor(agent: Agent) -> bool:
    return agent.role is Role.SUPERVISOR


def admin_blueprint(agents: AgentDirectory, reporting: Reporting, channels: dict[str, str]) -> Blueprint:
    """``channels``: the gateway's channel names (as conversations record them) and their labels."""
    bp = Blueprint("admin_dashboard", url_prefix="/admin")
    supervisors = staff_only(agents, DASHBOARD, _is_supervisor)

    def scope_of(request: Request) -> Scope:
        return parse_scope(request.args, dt.datetime.now(CHINA).date(), channels)

    @bp.exception(BadScope)
    async def bad_scope(_request: Request, refused: BadScope) -> HTTPResponse:
        return error(400, "bad scope", str(refused))

    @bp.exception(ProfileUnavailable)
    async def unavailable(_request: Request, away: ProfileUnavailable) -> HTTPResponse:
        logger.error("dashboard data unavailable: %s", away)
        return error(503, "unavailable", "数据暂时无法读取，请稍后重试。")

    add_page(bp, STATIC, "admin.html")
    add_logout(bp, agents, supervisors)

    @bp.get("/vendor/chart.umd.min.js")
    async def charts(_request: Request) -> HTTPResponse:  # Chart.js from npm (web/package.json)
        return await static_file(CHARTS / "chart.umd.min.js", CHARTS, missing="run make setup")

    @bp.post("/api/login")
    async def login(request: Request) -> HTTPResponse:
        outcome = await log_in(request, agents, DASHBOARD)
        if isinstance(outcome, HTTPResponse):
            return outcome
        token, agent = outcome
        if not _is_supervisor(agent):
            await asyncio.to_thread(agents.logout, token)
            return error(403, "supervisors only", "运营看板仅限主管登录。")
        return response.json({"token": token, "name": agent.name, "staff_no": agent.staff_no})

    @bp.get("/api/meta")
    @supervisors
    async def meta(request: Request) -> HTTPResponse:
        policy = escalation_policy()
        return response.json(
            {
                "name": request.ctx.agent.name,
                "channels": channels,
                "complaint_categories": {category.value: category.label for category in TicketCategory},
                "reasons": {name: rule["label"] for name, rule in policy.reasons.items()},
                "skills": policy.skills,
                "intents": intent_labels(),
                "exports": sorted([*EXPORTS, "gaps"]),
            }
        )

    @bp.get("/api/overview")
    @supervisors
    async def measures(request: Request) -> HTTPResponse:
        return response.json(await reporting.overview(scope_of(request)))

    @bp.get("/api/export/<name>")
    @supervisors
    async def export(request: Request, name: str) -> HTTPResponse:
        scope, table = scope_of(request), name.removesuffix(".csv")
        if table == "gaps":
            found = await reporting.gaps(scope)
            return _csv_response(gap_rows(found or {"groups": []}), table, scope)
        if table not in EXPORTS:
            return error(404, "unknown table", "没有这张表。")
        return _csv_response((await reporting.overview(scope))["tables"][table], table, scope)

    @bp.get("/api/gaps")
    @supervisors
    async def gaps(request: Request) -> HTTPResponse:
        found = await reporting.gaps(scope_of(request))
        if found is None:
            return error(503, "knowledge base unavailable", "知识库暂不可用，无法分析知识缺口。")
        return response.json(found)

    @bp.post("/api/gaps/<group_id>/draft")
    @supervisors
    async def draft(request: Request, group_id: str) -> HTTPResponse:
        found = await reporting.gaps(scope_of(request))
        if found is None:
            return error(503, "knowledge base unavailable", "知识库暂不可用，无法生成草稿。")
        group = next((g for g in found["groups"] if g["id"] == group_id), None)
        if group is None:
            return error(404, "no such group", "该问题组已不在当前统计范围内，请刷新后重试。")
        today = dt.datetime.now(CHINA).date()
        path = await asyncio.to_thread(draft_article, group, reporting.drafts, today)
        logger.info("knowledge-base draft %s written by %s", path.name, request.ctx.agent.staff_no)
        shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        return response.json({"file": str(shown), "draft": path.read_text(encoding="utf-8")})

    return bp
