import asyncio
import datetime as dt
import re

import pytest
import sqlalchemy as sa
from rasa_sdk.executor import CollectingDispatcher

from actions.complaints import (
    ActionHandleComplaint,
    ActionSubmitComplaint,
    ValidateComplaintForm,
    category_of,
    is_status_question,
    says_what_happened,
)
from actions.config import message
from actions.formatting import format_moment
from bot.profile.models import AuditOutcome, Customer, Skill, Ticket, TicketCategory
from bot.profile.service import ProfileService
from tests.actions.conftest import make_tracker
from tests.conftest import audit_log

ZHANG, CHEN = "C000001", "C000004"  # 陈静 has an open fees complaint from yesterday (2025-06-29)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("年费扣了两次", TicketCategory.FEES),
        ("排队两个小时没人管", TicketCategory.SERVICE),
        ("跨行转账三天了还没到账", TicketCategory.TRANSFER),
        ("买理财的时候销售误导，现在亏了", TicketCategory.WEALTH),
        ("被冒充客服的骗子骗了", TicketCategory.FRAUD),
        ("信用卡被盗刷了", None),  # card or fraud: the customer picks
        ("你们太过分了", None),
    ],
)
def test_complaint_categories_from_keywords(text: str, category) -> None:
    assert category_of(text) is category


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("我的投诉处理到哪了", True),
        ("投诉有结果了吗", True),
        ("上次投诉怎么样了", True),
        ("TS2025062912345678 这个有进展吗", True),
        ("ts2025062912345678", True),
        ("TS****5678", True),  # the gateway masked the reference as a card number
        ("我要投诉", False),
        ("投诉你们客服态度太差", False),
        ("上次投诉的事到现在都没结果", True),
        ("我要投诉 客服一直没回复我", False),
        ("年费扣了两次", False),
    ],
)
def test_status_questions(text: str, status: bool) -> None:
    assert is_status_question(text) is status


@pytest.mark.parametrize(
    ("text", "descriptive"),
    [("我要投诉", False), ("我要投诉乱收费", False), ("你们这什么破服务 排队两个小时没人管", True)],
)
def test_a_message_says_what_happened_when_more_than_category_words(text: str, descriptive: bool) -> None:
    assert says_what_happened(text) is descriptive


def chens_reference(sessions) -> str:
    with sessions() as session:
        query = sa.select(Ticket.reference).join(Customer).where(Customer.customer_no == CHEN)
        return session.scalars(query).one()


def handle(service: ProfileService | None, text: str, customer: str | None, now: dt.datetime | None = None):
    dispatcher = CollectingDispatcher()
    metadata = {"customer_no": customer} if customer else {}
    latest = {"text": text, "intent": {"name": "complain"}, "entities": [], "metadata": metadata}
    clock = (lambda: now) if now else (lambda: dt.datetime.now(dt.timezone.utc))
    action = ActionHandleComplaint(lambda: service, clock=clock)
    events = asyncio.run(action.run(dispatcher, make_tracker(latest_message=latest), {}))
    return dispatcher.messages, events


def test_status_by_reference_with_deadlines_in_china_time(service, sessions) -> None:
    reference = chens_reference(sessions)
    with sessions() as session:
        ticket = session.scalars(sa.select(Ticket).where(Ticket.reference == reference)).one()
    [reply], events = handle(service, f"{reference} 处理得怎么样了", CHEN, now=ticket.created_at)
    text = reply["text"]
    assert events == [] and text.startswith("陈女士")
    assert all(part in text for part in (reference, "收费争议", "待处理"))
    assert f"首次响应时限 {format_moment(ticket.respond_by)}" in text
    assert f"解决时限 {format_moment(ticket.resolve_by)}" in text
    assert format_moment(ticket.respond_by) == (ticket.respond_by + dt.timedelta(hours=8)).strftime(
        "%-m月%-d日 %H:%M"
    )
    assert "超过承诺时限" not in text


def test_open_complaints_without_a_reference_and_overdue(service, sessions) -> None:
    reference = chens_reference(sessions)
    [reply], _ = handle(service, "上次投诉怎么样了", CHEN)  # a day after it was made: no response yet
    assert reference in reply["text"] and "超过承诺时限" in reply["text"]
    [record] = [r for r in audit_log(sessions) if r.operation == "tickets"]
    assert (record.customer_no, record.outcome, record.purpose) == (CHEN, AuditOutcome.OK, "客户查询投诉进度")


def test_a_masked_reference_is_matched_by_its_last_four_digits(service, sessions) -> None:
    reference = chens_reference(sessions)
    [reply], _ = handle(service, f"TS****{reference[-4:]} 有结果了吗", CHEN)
    assert reference in reply["text"]


def test_no_complaint_offers_to_file_one(service) -> None:
    [reply], events = handle(service, "我的投诉处理到哪了", ZHANG)
    assert reply["text"] == message("complaint", "status_none", name="张先生")
    assert reply["buttons"] == [{"title": "我要投诉", "payload": "/complain"}]
    assert events == []


def test_another_customers_reference_is_not_found_and_audited(service, sessions) -> None:
    reference = chens_reference(sessions)
    [reply], _ = handle(service, f"{reference}进度", ZHANG)
    assert reply["text"] == message("complaint", "not_found", reference=reference)
    [record] = [r for r in audit_log(sessions) if r.operation == "ticket_status"]
    assert (record.customer_no, record.outcome) == (ZHANG, AuditOutcome.NOT_FOUND)


def test_a_descriptive_complaint_prefills_the_form(service, sessions) -> None:
    text = "你们这什么破服务 排队两个小时没人管，回电13812345678"
    [reply], events = handle(service, text, ZHANG)
    assert reply["text"] == message("complaint", "opening")
    assert events == [
        {"event": "slot", "name": "complaint_category", "value": "服务质量", "timestamp": None},
        {
            "event": "slot",
            "name": "complaint_description",
            "value": "你们这什么破服务 排队两个小时没人管，回电138****5678",
            "timestamp": None,
        },
        {"event": "followup", "name": "complaint_form", "timestamp": None},
    ]
    assert audit_log(sessions) == []  # nothing is read or written before the form is done


def test_a_bare_complaint_asks_for_everything(service) -> None:
    _, events = handle(service, "我要投诉", ZHANG)
    assert [(e.get("name"), e.get("value")) for e in events] == [
        ("complaint_category", None),
        ("complaint_description", None),
        ("complaint_form", None),
    ]


def test_an_unverified_customer_gets_no_profile_access(service, sessions) -> None:
    [reply], events = handle(service, "我的投诉处理到哪了", None)
    assert reply["text"] == message("accounts", "verify_first") and events == []
    assert audit_log(sessions) == []


@pytest.mark.parametrize(
    ("value", "label"), [("收费争议", "收费争议"), ("年费扣了两次", "收费争议"), ("乱七八糟", None)]
)
def test_category_answers(value: str, label, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateComplaintForm().validate_complaint_category(value, dispatcher, make_tracker(), domain)
    assert result == {"complaint_category": label}
    assert (dispatcher.messages == []) == (label is not None)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "用文字描述"),
        ("   ", "用文字描述"),
        ("嗯", "具体说说"),
        ("太" * 2001, "2000 字以内"),
        ("/affirm", "用文字描述"),
    ],
)
def test_unusable_descriptions_are_explained(value: str, says: str, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateComplaintForm().validate_complaint_description(value, dispatcher, make_tracker(), domain)
    assert result == {"complaint_description": None}
    assert says in dispatcher.messages[0]["text"]


def test_descriptions_are_kept_with_pii_masked(domain) -> None:
    dispatcher = CollectingDispatcher()
    value = " 卡号6222021234567890128在ATM被吞了 "
    result = ValidateComplaintForm().validate_complaint_description(value, dispatcher, make_tracker(), domain)
    assert result == {"complaint_description": "卡号****0128在ATM被吞了"}


def submit(service: ProfileService | None, customer: str | None, slots: dict | None = None):
    dispatcher = CollectingDispatcher()
    metadata = {"customer_no": customer} if customer else {}
    latest = {"text": "网点排队两个小时", "intent": {"name": "inform"}, "entities": [], "metadata": metadata}
    slots = slots or {"complaint_category": "服务质量", "complaint_description": "网点排队两个小时，没人管"}
    tracker = make_tracker(slots=slots, latest_message=latest)
    events = asyncio.run(ActionSubmitComplaint(lambda: service).run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_a_complaint_is_filed_with_reference_deadlines_and_handler(service, sessions) -> None:
    [reply], events = submit(service, ZHANG)
    reference = re.search(r"业务编号 (TS\d{16})", reply["text"])[1]
    assert all(part in reply["text"] for part in ("张先生", "服务质量", "1 小时内", "24 小时内", "赵敏"))
    with sessions() as session:
        ticket = session.scalars(sa.select(Ticket).where(Ticket.reference == reference)).one()
        assert (ticket.category, ticket.description) == (TicketCategory.SERVICE, "网点排队两个小时，没人管")
        assert ticket.advisor.name == "赵敏" and Skill.COMPLAINTS in ticket.advisor.skills
        assert ticket.resolve_by - ticket.created_at == dt.timedelta(hours=24)
    [record] = [r for r in audit_log(sessions) if r.operation == "create_ticket"]
    assert (record.outcome, record.reference, record.purpose) == (AuditOutcome.OK, reference, "客户投诉登记")
    cleared = [e for e in events if e["event"] == "slot" and e["name"].startswith("complaint_")]
    assert len(cleared) == 2 and all(e["value"] is None for e in cleared)
    assert [(e["event"], e.get("value") or e["name"]) for e in events[-2:]] == [
        ("slot", "complaint"),  # a complaints handler takes over, the ticket in the summary
        ("followup", "action_handoff_to_human"),
    ]


def tickets_of(sessions, customer: str) -> int:
    with sessions() as session:
        query = sa.select(sa.func.count(Ticket.id)).join(Customer).where(Customer.customer_no == customer)
        return session.scalar(query)


def test_an_unverified_customer_files_nothing(service, sessions) -> None:
    [reply], _ = submit(service, None)
    assert reply["text"] == message("accounts", "verify_first")
    assert tickets_of(sessions, ZHANG) == 0 and audit_log(sessions) == []


def test_an_incomplete_form_is_asked_again(service, sessions) -> None:
    messages, events = submit(
        service, ZHANG, {"complaint_category": "服务质量", "complaint_description": None}
    )
    assert messages == [] and events[-1]["name"] == "complaint_form"
    assert tickets_of(sessions, ZHANG) == 0
