"""The service desk on a real seeded database: queue order, claims, routing by skill, the customer's side."""

from __future__ import annotations

import random

import pytest

from bot.handoff.agents import AgentDirectory, LoginFailed, NotAuthenticated
from bot.handoff.desk import Conflict, Desk, Forbidden, queue_order
from bot.handoff.models import ACTIVE, CALLBACK, CANCELLED, CLOSED, DASHBOARD, HANDED_BACK, QUEUED
from tests.helpers import at_once

PASSWORD = "desk-test-password"


@pytest.fixture
def desk(sessions) -> Desk:
    return Desk(sessions)


@pytest.fixture
def agents(sessions) -> AgentDirectory:
    directory = AgentDirectory(sessions)
    assert directory.ensure_demo_logins(PASSWORD) >= 10
    return directory


def login(agents: AgentDirectory, staff_no: str):
    return agents.login(staff_no, PASSWORD)[1]


def escalate(desk: Desk, conversation: str, priority: str = "P3", skill: str = "general", reason: str = "x"):
    escalation = {"priority": priority, "skill": skill, "reason": reason}
    return desk.enqueue(conversation, "rest", None, escalation, {"text": f"summary of {conversation}"})


def test_login_sessions_and_presence(agents) -> None:
    token, agent = agents.login("XH1001", PASSWORD)  # 赵敏: cards and complaints
    assert agent.name == "赵敏" and agent.skills == ("cards", "complaints", "general")
    assert agents.authenticate(token) == agent
    assert [a.staff_no for a in agents.online()] == ["XH1001"]
    with pytest.raises(LoginFailed):
        agents.login("XH1001", "wrong")
    with pytest.raises(LoginFailed):
        agents.login("C000001", PASSWORD)  # customers are not staff
    agents.logout(token)
    with pytest.raises(NotAuthenticated):
        agents.authenticate(token)
    assert agents.online() == []


def test_a_dashboard_login_is_not_presence_and_opens_only_the_dashboard(agents) -> None:
    token, supervisor = agents.login("XH3001", PASSWORD, kind=DASHBOARD)
    assert agents.online() == []  # reading reports does not make anyone routable to customers
    assert agents.authenticate(token, kind=DASHBOARD) == supervisor
    with pytest.raises(NotAuthenticated):
        agents.authenticate(token)  # the console refuses it
    console_token, _ = agents.login("XH3001", PASSWORD)
    with pytest.raises(NotAuthenticated):
        agents.authenticate(console_token, kind=DASHBOARD)


def test_enqueue_is_idempotent_while_open(desk) -> None:
    first = escalate(desk, "c1")
    again = escalate(desk, "c1", priority="P1")
    assert again.id == first.id and again.priority == "P3"
    assert desk.open_for("c1").status == QUEUED


def test_queue_order_priority_then_waiting_time_and_positions(desk) -> None:
    escalate(desk, "late-p3", "P3")
    escalate(desk, "fraud", "P1", "fraud")
    escalate(desk, "later-p3", "P3")
    escalate(desk, "p2", "P2")
    assert [i.conversation_id for i in desk.waiting()] == ["fraud", "p2", "late-p3", "later-p3"]
    assert desk.position(desk.open_for("later-p3")) == 3  # behind p2 and late-p3 in the general queue
    assert desk.position(desk.open_for("fraud")) == 1  # alone in its skill


def test_routing_respects_skills(desk, agents) -> None:
    escalate(desk, "fraud-case", "P1", "fraud")
    escalate(desk, "wealth-case", "P2", "wealth")
    escalate(desk, "anyone", "P3", "general")
    zhao, li = login(agents, "XH1001"), login(agents, "XH2001")  # cards+complaints; wealth+loans advisor
    assert [i.conversation_id for i, _ in desk.queue_for(zhao)] == ["anyone"]
    assert [i.conversation_id for i, _ in desk.queue_for(li)] == ["wealth-case", "anyone"]
    with pytest.raises(Forbidden):
        desk.claim("fraud-case", zhao)
    supervisor = login(agents, "XH3001")
    assert len(desk.queue_for(supervisor)) == 3
    assert desk.claim("fraud-case", supervisor).status == ACTIVE


def test_two_agents_claim_at_once_one_wins(desk, agents) -> None:
    escalate(desk, "race")
    zhao, qian = login(agents, "XH1001"), login(agents, "XH1002")

    def claim(agent) -> str:
        try:
            return desk.claim("race", agent).agent
        except Conflict:
            return "conflict"

    results = at_once(lambda: claim(zhao), lambda: claim(qian))
    winner = [r for r in results if r != "conflict"]
    assert results.count("conflict") == 1 and winner[0] in ("XH1001", "XH1002")
    assert desk.open_for("race").agent == winner[0]


def test_a_conversation_with_an_agent(desk, agents) -> None:
    escalate(desk, "c2")
    zhao, qian = login(agents, "XH1001"), login(agents, "XH1002")
    assert desk.customer_says("c2", "我还在等")[0].status == QUEUED
    desk.claim("c2", zhao)
    with pytest.raises(Conflict):
        desk.agent_says("c2", qian, "不是我的会话")
    desk.agent_says("c2", zhao, "您好，我是赵敏")
    assert [t.text for t in desk.undelivered("c2")] == ["您好，我是赵敏"]
    assert desk.undelivered("c2") == []  # handed over once
    desk.agent_says("c2", zhao, "请稍等")
    desk.mark_delivered("c2")  # sent over the customer's open socket
    assert desk.undelivered("c2") == []
    assert desk.customer_left("c2").customer_present is False
    assert desk.customer_left("c2") is None  # noted once
    desk.customer_says("c2", "我回来了")
    ended = desk.end("c2", zhao, HANDED_BACK, "resolved")
    assert ended.status == HANDED_BACK and desk.open_for("c2") is None
    with pytest.raises(Conflict):
        desk.agent_says("c2", zhao, "还有吗")  # replying after the conversation went back to the bot
    item, transcript = desk.get("c2")
    assert [t.who for t in transcript] == [
        "customer",
        "system",
        "agent",
        "agent",
        "system",
        "customer",
        "system",
    ]
    assert desk.rating_due("c2").id == item.id
    desk.rate(item.id, 4)
    desk.rate(item.id, 1)  # the first rating counts
    assert desk.get("c2")[0].rating == 4 and desk.rating_due("c2") is None


def test_transfer_keeps_the_place_in_time(desk, agents) -> None:
    escalate(desk, "c3")
    zhao = login(agents, "XH1001")
    before = desk.claim("c3", zhao)
    moved = desk.transfer("c3", zhao, "wealth")
    assert (moved.status, moved.skill, moved.agent) == (QUEUED, "wealth", None)
    assert moved.waiting_since == before.waiting_since
    li = login(agents, "XH2001")
    assert desk.claim("c3", li).agent == "XH2001"
    assert desk.end("c3", li, CLOSED, "follow_up").disposition == "follow_up"


def test_customer_cancels_or_asks_for_a_callback(desk, agents) -> None:
    escalate(desk, "cancel-me")
    escalate(desk, "call-me", skill="loans")
    assert desk.cancel("cancel-me").status == CANCELLED
    assert desk.open_for("cancel-me") is None
    assert desk.request_callback("call-me").status == CALLBACK
    assert desk.open_for("call-me") is None  # the bot serves the customer meanwhile
    qian = login(agents, "XH1002")
    assert [(i.conversation_id, i.status) for i, _ in desk.queue_for(qian)] == [("call-me", CALLBACK)]
    assert desk.claim("call-me", qian).status == ACTIVE
    assert desk.cancel("call-me") is None  # with an agent: nothing to cancel


def test_hundred_escalations_at_once_stay_ordered_and_complete(desk) -> None:
    rng = random.Random(5)
    cases = [(f"burst-{n}", rng.choice(["P1", "P2", "P3", "P4"])) for n in range(100)]
    outcomes = at_once(*[lambda c=c, p=p: escalate(desk, c, p).conversation_id for c, p in cases])
    assert sorted(outcomes) == sorted(c for c, _ in cases)  # none refused, none failed
    waiting = desk.waiting()
    assert sorted(i.conversation_id for i in waiting) == sorted(c for c, _ in cases)
    assert [queue_order(i) for i in waiting] == sorted(queue_order(i) for i in waiting)
    assert [i.priority for i in waiting] == sorted(p for _, p in cases)


def test_ratings_outside_one_to_five_are_refused(desk) -> None:
    item = escalate(desk, "c4")
    with pytest.raises(Exception, match="1-5"):
        desk.rate(item.id, 6)
