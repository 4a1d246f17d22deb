"""Verification in the chat against the seeded bank: phone on record, SMS code, resume the request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk.executor import CollectingDispatcher

from actions.accounts import ActionCheckBalance
from actions.config import message
from actions.session import request_message
from actions.verification import (
    ActionResumeAfterVerification,
    ValidateVerificationForm,
    typed_code,
)
from bot.identity import OneTimeCodes
from bot.privacy import Sealer
from bot.profile.access import Actor
from bot.profile.models import Channel, Customer, Role
from bot.profile.service import ProfileService
from tests.actions.conftest import make_tracker
from tests.conftest import audit_log
from tests.helpers import CapturingSender

SEALER = Sealer(b"s" * 32)
UNKNOWN_PHONE = "19900000000"


@dataclass
class Desk:
    """The verification form wired to the test bank, with SMS codes captured instead of sent."""

    form: ValidateVerificationForm
    delivered: CapturingSender
    undelivered: CapturingSender
    service: ProfileService

    def phone(self, phone: str | None, channel: str = "rest") -> tuple[dict[str, Any], list[str]]:
        metadata: dict[str, Any] = {"channel": channel}
        if phone:
            metadata["phone_handle"] = SEALER.seal(phone)
        tracker = tracker_for("138****0000", metadata, channel=channel)
        return self._call(self.form.validate_verification_phone, "138****0000", tracker)

    def code(
        self, text: str, slots: dict[str, Any], channel: str = "rest"
    ) -> tuple[dict[str, Any], list[str]]:
        tracker = tracker_for(text, {"channel": channel}, slots, channel)
        return self._call(self.form.validate_verification_code, text, tracker)

    @staticmethod
    def _call(validate, text: str, tracker) -> tuple[dict[str, Any], list[str]]:
        dispatcher = CollectingDispatcher()
        result = asyncio.run(validate(text, dispatcher, tracker, {}))
        return result, [m["text"] for m in dispatcher.messages]


def tracker_for(
    text: str, metadata: dict[str, Any], slots: dict[str, Any] | None = None, channel: str = "rest"
):
    latest = {"text": text, "intent": {"name": "inform"}, "entities": [], "metadata": metadata}
    tracker = make_tracker(
        slots={"session_started_metadata": {"channel": channel}, **(slots or {})},
        latest_message=latest,
        active_loop="verification_form",
    )
    tracker.sender_id = f"conversation-{channel}"
    return tracker


@pytest.fixture
def desk(db_url: str, service: ProfileService) -> Desk:
    delivered, undelivered = CapturingSender(), CapturingSender()
    real = OneTimeCodes(db_url, b"k" * 32, delivered)
    blind = OneTimeCodes(db_url, b"k" * 32, undelivered)
    form = ValidateVerificationForm(lambda: service, lambda: real, lambda: blind, lambda: SEALER)
    return Desk(form, delivered, undelivered, service)


def phone_of(sessions, customer_no: str) -> str:
    with sessions() as session:
        return session.scalar(sa.select(Customer.phone).where(Customer.customer_no == customer_no))


def test_a_customers_phone_gets_a_code_and_the_right_code_verifies(desk: Desk, sessions) -> None:
    phone = phone_of(sessions, "C000001")
    slots, said = desk.phone(phone)
    assert slots["verification_phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert slots["verification_candidate"] == "C000001"
    assert [p for p, _ in desk.delivered.sent] == [phone]
    assert phone not in " ".join(said) and phone[-4:] in said[0]

    [(_, code)] = desk.delivered.sent
    result, _ = desk.code(f"验证码是 {code[:3]} {code[3:]}", slots)
    assert result == {
        "verification_code": "verified",
        "verified_customer_no": "C000001",
        "customer_tier": "vip",
    }
    lookups = [r for r in audit_log(sessions) if r.operation == "customer_by_phone"]
    assert [(r.customer_no, r.outcome.value) for r in lookups] == [("C000001", "ok")]


def test_an_unknown_number_looks_the_same_but_no_code_is_ever_delivered(desk: Desk, sessions) -> None:
    known_slots, known_said = desk.phone(phone_of(sessions, "C000001"))
    slots, said = desk.phone(UNKNOWN_PHONE)
    assert slots["verification_candidate"] is None
    assert said[0].replace("199****0000", "X") == known_said[0].replace(
        known_slots["verification_phone"], "X"
    )
    assert [p for p, _ in desk.delivered.sent] == [phone_of(sessions, "C000001")]
    [(_, code)] = desk.undelivered.sent
    result, said = desk.code(code, slots)  # even the right code of an undelivered challenge proves nothing
    assert "verified_customer_no" not in result and result["verification_code"] != "verified"


def test_three_wrong_codes_lock_verification(desk: Desk, sessions) -> None:
    slots, _ = desk.phone(phone_of(sessions, "C000002"))
    [(_, code)] = desk.delivered.sent
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    first, said = desk.code(wrong, slots)
    assert first == {"verification_code": None} and "还可以再试 2 次" in said[0]
    desk.code(wrong, slots)
    third, said = desk.code(wrong, slots)
    assert third == {"verification_code": "locked"} and "分钟后再试" in said[0]
    after, _ = desk.code(code, slots)  # the right code no longer works while locked
    assert "verified_customer_no" not in after
    again, said = desk.phone(phone_of(sessions, "C000002"))
    assert again["verification_code"] == "locked" and len(desk.delivered.sent) == 1


def test_no_phone_in_the_message_or_a_forged_handle_asks_again(desk: Desk) -> None:
    slots, said = desk.phone(None)
    assert slots == {"verification_phone": None} and said == [message("verification", "phone_invalid")]
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("13800138000", {"phone_handle": "gAAAAA-forged"})
    result = asyncio.run(desk.form.validate_verification_phone("x", dispatcher, tracker, {}))
    assert result == {"verification_phone": None} and not desk.delivered.sent


def test_resend_sends_a_new_code_and_other_text_just_asks_again(desk: Desk, sessions) -> None:
    slots, _ = desk.phone(phone_of(sessions, "C000001"))
    result, said = desk.code("还没收到，重新发送一下", slots)
    assert result == {"verification_code": None} and len(desk.delivered.sent) == 2
    result, said = desk.code("你好", slots)
    assert result == {"verification_code": None} and said == [] and len(desk.delivered.sent) == 2
    [_, (_, latest_code)] = desk.delivered.sent
    assert desk.code(latest_code, slots)[0]["verified_customer_no"] == "C000001"


def test_verification_on_wechat_binds_the_openid(desk: Desk, sessions, service: ProfileService) -> None:
    slots, _ = desk.phone(phone_of(sessions, "C000003"), channel="wechat")
    [(_, code)] = desk.delivered.sent
    result, _ = desk.code(code, slots, channel="wechat")
    assert result["verified_customer_no"] == "C000003"
    found = service.customer_by_binding(
        Actor("gateway", Role.BOT), Channel.WECHAT, "conversation-wechat", purpose="t"
    )
    assert found is not None and found.customer_no == "C000003" and found.verified


def test_verification_on_the_web_binds_nothing(desk: Desk, sessions, service: ProfileService) -> None:
    slots, _ = desk.phone(phone_of(sessions, "C000003"))
    [(_, code)] = desk.delivered.sent
    assert desk.code(code, slots)[0]["verified_customer_no"] == "C000003"
    assert "bind_channel" not in {r.operation for r in audit_log(sessions)}


@pytest.mark.parametrize(
    ("text", "code"),
    [("123456", "123456"), ("验证码：６５４３２１", "654321"), ("12 34 56", "123456"), ("1234", None)],
)
def test_typed_code(text: str, code: str | None) -> None:
    assert typed_code(text) == code


def run(action, tracker) -> tuple[list[dict[str, Any]], list[str]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return events, [m["text"] for m in dispatcher.messages]


def test_after_verification_an_account_question_is_answered_in_the_same_turn(service: ProfileService) -> None:
    tracker = make_tracker(slots={"verified_customer_no": "C000001", "resume_action": "action_check_balance"})
    action = ActionResumeAfterVerification(
        lambda: service, {"action_check_balance": lambda: ActionCheckBalance(lambda: service)}
    )
    events, said = run(action, tracker)
    assert said[0] == message("verification", "verified_resume", name="张先生")
    assert "余额" in said[1] and "****" in said[1]
    assert not [e for e in events if e["event"] == "followup"]
    assert all(e["value"] is None for e in events if e["event"] == "slot")


def test_after_verification_a_form_request_continues_as_a_followup(service: ProfileService) -> None:
    tracker = make_tracker(slots={"verified_customer_no": "C000001", "resume_action": "transfer_form"})
    events, said = run(ActionResumeAfterVerification(lambda: service), tracker)
    assert said == [message("verification", "verified_resume", name="张先生")]
    assert events[-1] == {"event": "followup", "name": "transfer_form", "timestamp": None}


def test_the_phone_slot_cleared_at_the_start_is_not_complained_about(desk: Desk) -> None:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(
        desk.form.validate_verification_phone(None, dispatcher, tracker_for("查余额", {}), {})
    )
    assert result == {"verification_phone": None} and dispatcher.messages == []


def test_failed_verification_does_not_resume() -> None:
    tracker = make_tracker(slots={"verification_code": "locked", "resume_action": "transfer_form"})
    events, said = run(ActionResumeAfterVerification(), tracker)
    assert said == [] and all(e["event"] == "slot" for e in events)


def test_the_resumed_request_reads_the_message_before_verification() -> None:
    asked = {
        "event": "user",
        "text": "上个月的交易",
        "parse_data": {
            "intent": {"name": "transaction_history"},
            "entities": [{"entity": "date", "value": "上个月"}],
        },
    }
    code = {"event": "user", "text": "123456", "parse_data": {"intent": {"name": "inform"}, "entities": []}}
    events = [
        asked,
        {"event": "active_loop", "name": "verification_form"},
        {"event": "user", "text": "138****8000", "parse_data": {}},
        code,
        {"event": "active_loop", "name": None},
    ]
    latest = {"text": "123456", "intent": {"name": "inform"}, "entities": []}
    found = request_message(make_tracker(latest_message=latest, events=events))
    assert found["text"] == "上个月的交易" and found["entities"][0]["value"] == "上个月"
    later = make_tracker(latest_message={"text": "余额"}, events=[*events, {"event": "user", "text": "余额"}])
    assert request_message(later)["text"] == "余额"
