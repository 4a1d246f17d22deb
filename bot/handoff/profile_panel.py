"""The customer panel of the agent console: the profile as the agent's role may see it.

Each section is one read of the profile service as the agent (role and relation decide, see
bot/profile/access.py), so every read is authorised and audited like any other; a section the
role may not see is named in ``hidden`` instead of shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.handoff.agents import Agent
from bot.profile.access import Actor
from bot.profile.errors import AccessDenied
from bot.profile.service import ProfileService

PURPOSE = "坐席处理转人工会话时查看客户资料"
Rows = list[tuple[str, str]]


def _money(value: Any) -> str:
    return f"{value:,.2f} 元"


def _contact(profiles: ProfileService, actor: Actor, customer_no: str) -> Rows:
    summary = profiles.customer_summary(actor, customer_no, purpose=PURPOSE)
    name = summary.surname + "*" * max(len(summary.name) - len(summary.surname), 1)
    return [
        ("姓名", name),
        ("称呼", summary.addressed_as),
        ("客户等级", summary.tier.label),
        ("手机", summary.masked_phone),
    ]


def _accounts(profiles: ProfileService, actor: Actor, customer_no: str) -> Rows:
    return [
        (f"{a.kind.label} {a.masked_number}", f"{_money(a.balance)}（{a.status.label}）")
        for a in profiles.accounts(actor, customer_no, purpose=PURPOSE)
    ]


def _cards(profiles: ProfileService, actor: Actor, customer_no: str) -> Rows:
    return [
        (f"{c.kind.label} {c.masked_number}", c.status.label)
        for c in profiles.cards(actor, customer_no, purpose=PURPOSE)
    ]


def _holdings(profiles: ProfileService, actor: Actor, customer_no: str) -> Rows:
    portfolio = profiles.holdings(actor, customer_no, purpose=PURPOSE)
    rows = [("风险等级", portfolio.risk_level.label)]
    return rows + [(h.product_name, _money(h.amount)) for h in portfolio.holdings]


def _service(profiles: ProfileService, actor: Actor, customer_no: str) -> Rows:
    tickets = profiles.tickets(actor, customer_no, purpose=PURPOSE, limit=3)
    appointments = profiles.appointments(actor, customer_no, purpose=PURPOSE)[:3]
    return [(f"投诉 {t.reference}", f"{t.category.label}·{t.status.label}") for t in tickets] + [
        (f"预约 {a.reference}", f"{a.topic.label}·{a.starts_at:%Y-%m-%d %H:%M}·{a.status.label}")
        for a in appointments
    ]


SECTIONS: tuple[tuple[str, Callable[[ProfileService, Actor, str], Rows]], ...] = (
    ("基本信息", _contact),
    ("账户与余额", _accounts),
    ("银行卡", _cards),
    ("理财持仓", _holdings),
    ("投诉与预约", _service),
)


def customer_panel(profiles: ProfileService, agent: Agent, customer_no: str | None) -> dict[str, Any]:
    """``{"customer_no", "sections": [{"title", "rows"}], "hidden": [titles]}``."""
    if customer_no is None:
        return {"customer_no": None, "sections": [], "hidden": []}
    actor = Actor(agent.staff_no, agent.role)
    sections, hidden = [], []
    for title, read in SECTIONS:
        try:
            sections.append(
                {"title": title, "rows": [list(row) for row in read(profiles, actor, customer_no)]}
            )
        except AccessDenied:
            hidden.append(title)
    return {"customer_no": customer_no, "sections": sections, "hidden": hidden}
