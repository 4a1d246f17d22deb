"""Booking advisors and handling complaints in the profile service, on a real seeded SQLite bank.

Advisors with the wealth skill (bot/profile/seed.py): 李娜 XH2001 (Mon–Fri 9:00–17:30, 张伟's own),
陈刚 XH2002 (Mon–Fri 9:00–17:30), 杨帆 XH2003 (Tue–Sat 9:00–17:30), 黄蕾 XH2004 (on leave),
林峰 XH2005 and 何静 XH2006 (Mon–Fri 9:00–18:00). The seeded appointments end mid-July 2025, so
September 2025 is empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bot.dates import CHINA
from bot.profile.access import Actor
from bot.profile.db import session_factory
from bot.profile.errors import AccessDenied, NoAdvisorFree, NotFound
from bot.profile.models import (
    Advisor,
    Appointment,
    AppointmentStatus,
    AuditOutcome,
    Customer,
    Role,
    Skill,
    Ticket,
    TicketCategory,
    TicketStatus,
)
from bot.profile.scheduling import BookingWindow
from bot.profile.seed import seed_demo_bank
from bot.profile.service import ProfileService
from tests.conftest import SMALL_BANK, TODAY, audit_log
from tests.helpers import at_once
from tests.services import running_postgres

ZHANG, LIU, CHEN = "C000001", "C000003", "C000004"
PURPOSE = "测试预约与投诉"
SEPTEMBER = BookingWindow(dt.time(9), dt.time(17), dt.date(2025, 9, 1), dt.date(2025, 9, 30))
WEDNESDAY, SATURDAY, SUNDAY, MONDAY = (dt.date(2025, 9, d) for d in (3, 6, 7, 8))
WEALTH_ADVISORS_AT_WORK = {"李娜", "陈刚", "杨帆", "林峰", "何静"}  # on a weekday; 黄蕾 is on leave


def bot_for(customer_no: str) -> Actor:
    return Actor("assistant", Role.BOT, serving=customer_no)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA)


def book(
    service: ProfileService,
    customer_no: str,
    starts_at: dt.datetime,
    skill: Skill = Skill.WEALTH,
    window: BookingWindow = SEPTEMBER,
) -> str | None:
    """The advisor booked, by name."""
    view = service.book_appointment(
        bot_for(customer_no), customer_no, skill, "朝阳支行", starts_at, purpose=PURPOSE, window=window
    )
    return view.advisor_name


def booked_rows(sessions: sessionmaker) -> list[Appointment]:
    with sessions() as session:
        query = sa.select(Appointment).where(Appointment.starts_at >= at(SEPTEMBER.first_day, 0))
        return list(session.scalars(query.order_by(Appointment.id)))


def test_the_customers_own_advisor_is_preferred_when_they_have_the_skill(service: ProfileService) -> None:
    assert book(service, ZHANG, at(WEDNESDAY, 10)) == "李娜"
    assert book(service, ZHANG, at(WEDNESDAY, 14), Skill.TAX_CROSS_BORDER) == "陈刚"  # 李娜: no tax skill


def test_otherwise_the_advisor_least_booked_that_day(service: ProfileService) -> None:
    assert book(service, LIU, at(WEDNESDAY, 10)) == "李娜"  # no own advisor: all equal, by staff number
    assert book(service, CHEN, at(WEDNESDAY, 14)) == "陈刚"  # 李娜 is free but already has one that day


def test_an_advisor_on_leave_is_never_booked(service: ProfileService, sessions: sessionmaker) -> None:
    with sessions.begin() as session:
        session.execute(sa.update(Advisor).where(Advisor.staff_no == "XH2001").values(available=False))
    assert book(service, ZHANG, at(WEDNESDAY, 10)) == "陈刚"


def test_only_advisors_working_that_weekday(service: ProfileService) -> None:
    assert book(service, ZHANG, at(SATURDAY, 10)) == "杨帆"  # the only one working Saturdays
    with pytest.raises(NoAdvisorFree) as sunday:
        book(service, ZHANG, at(SUNDAY, 10))
    assert sunday.value.next_slots == (at(MONDAY, 9), at(MONDAY, 10), at(MONDAY, 11))


def test_the_whole_hour_must_be_inside_the_shift(service: ProfileService) -> None:
    assert book(service, ZHANG, at(WEDNESDAY, 16, 45)) == "林峰"  # 李娜 and 陈刚 leave at 17:30


def test_overlapping_bookings_are_skipped_until_no_one_is_free(
    service: ProfileService, sessions: sessionmaker
) -> None:
    customers = [f"C00000{n}" for n in range(1, 6)]
    names = {
        book(service, customer, at(WEDNESDAY, 10, 30 if n % 2 else 0)) for n, customer in enumerate(customers)
    }
    assert names == WEALTH_ADVISORS_AT_WORK
    with pytest.raises(NoAdvisorFree) as full:
        book(service, "C000006", at(WEDNESDAY, 10, 15))
    # 11:00 overlaps the 10:30 bookings only
    assert full.value.next_slots == (at(WEDNESDAY, 11), at(WEDNESDAY, 12), at(WEDNESDAY, 13))
    assert len(booked_rows(sessions)) == 5  # the refused booking wrote nothing
    refused = audit_log(sessions)[-1]
    assert (refused.operation, refused.outcome, refused.reference) == (
        "book_appointment",
        AuditOutcome.REJECTED,
        None,
    )


def test_no_free_hour_within_the_window_offers_nothing(service: ProfileService) -> None:
    last_sunday = BookingWindow(SEPTEMBER.opening, SEPTEMBER.closing, SEPTEMBER.first_day, SUNDAY)
    with pytest.raises(NoAdvisorFree) as full:
        book(service, ZHANG, at(SUNDAY, 10), window=last_sunday)
    assert full.value.next_slots == ()


def test_a_booking_writes_one_row_and_its_audit_record(
    service: ProfileService, sessions: sessionmaker
) -> None:
    view = service.book_appointment(
        bot_for(ZHANG),
        ZHANG,
        Skill.LOANS,
        " 朝阳支行 ",
        at(WEDNESDAY, 15),
        purpose="客户预约",
        window=SEPTEMBER,
    )
    assert view.reference.startswith("YY") and view.starts_at == at(WEDNESDAY, 15)
    assert (view.topic, view.branch, view.status, view.advisor_name) == (
        Skill.LOANS,
        "朝阳支行",
        AppointmentStatus.BOOKED,
        "李娜",
    )
    [row] = booked_rows(sessions)
    assert (row.reference, row.status, row.starts_at) == (
        view.reference,
        AppointmentStatus.BOOKED,
        view.starts_at,
    )
    [record] = audit_log(sessions)
    assert (record.operation, record.outcome, record.reference, record.customer_no, record.purpose) == (
        "book_appointment",
        AuditOutcome.OK,
        view.reference,
        ZHANG,
        "客户预约",
    )
    assert view in service.appointments(bot_for(ZHANG), ZHANG, purpose=PURPOSE)


@pytest.mark.parametrize(
    "starts_at",
    [
        dt.datetime(2025, 9, 3, 10),  # no time zone
        at(WEDNESDAY, 8),  # before opening
        at(WEDNESDAY, 17),  # at closing
        at(dt.date(2025, 8, 29), 10),  # before the first bookable day
        at(dt.date(2025, 10, 1), 10),  # after the last
    ],
)
def test_times_outside_the_window_are_refused_before_anything_happens(
    service: ProfileService, sessions: sessionmaker, starts_at: dt.datetime
) -> None:
    with pytest.raises(ValueError):
        book(service, ZHANG, starts_at)
    assert booked_rows(sessions) == [] and audit_log(sessions) == []


def test_a_blank_branch_is_refused(service: ProfileService, sessions: sessionmaker) -> None:
    with pytest.raises(ValueError):
        service.book_appointment(
            bot_for(ZHANG), ZHANG, Skill.WEALTH, "  ", at(WEDNESDAY, 10), purpose=PURPOSE, window=SEPTEMBER
        )
    assert booked_rows(sessions) == []


def test_someone_else_cannot_book_for_the_customer(service: ProfileService, sessions: sessionmaker) -> None:
    with pytest.raises(AccessDenied):
        service.book_appointment(
            bot_for(LIU),
            ZHANG,
            Skill.WEALTH,
            "朝阳支行",
            at(WEDNESDAY, 10),
            purpose=PURPOSE,
            window=SEPTEMBER,
        )
    assert booked_rows(sessions) == []
    assert [r.outcome for r in audit_log(sessions)] == [AuditOutcome.DENIED]


def race_for_saturday_ten(url: str) -> list[str]:
    """Two customers book Saturday 10:00 at once (only 杨帆 works), each through its own connections:
    "booked", or the NoAdvisorFree the loser got."""

    def attempt(customer_no: str) -> Callable[[], str]:
        def booking() -> str:
            factory = session_factory(url)
            try:
                book(ProfileService(factory), customer_no, at(SATURDAY, 10))
                return "booked"
            finally:
                factory.kw["bind"].dispose()

        return booking

    return at_once(attempt(ZHANG), attempt(LIU))


def staff_booked_on_saturday_ten(sessions: sessionmaker) -> list[str]:
    with sessions() as session:
        query = (
            sa.select(Advisor.staff_no)
            .join(Appointment, Appointment.advisor_id == Advisor.id)
            .where(Appointment.starts_at == at(SATURDAY, 10), Appointment.status == AppointmentStatus.BOOKED)
        )
        return list(session.scalars(query))


def test_two_simultaneous_bookings_of_the_last_free_hour_book_it_once(
    db_url: str, sessions: sessionmaker
) -> None:
    outcomes = race_for_saturday_ten(db_url)
    assert sorted(outcomes) == ["NoAdvisorFree", "booked"]
    assert staff_booked_on_saturday_ten(sessions) == ["XH2003"]


def test_two_simultaneous_bookings_on_postgresql_book_the_hour_once() -> None:
    with running_postgres() as server:
        url = server.url("profile")
        seed_demo_bank(url, customers=SMALL_BANK, today=TODAY)
        outcomes = race_for_saturday_ten(url)
        assert sorted(outcomes) == ["NoAdvisorFree", "booked"]
        sessions = session_factory(url)
        try:
            assert staff_booked_on_saturday_ten(sessions) == ["XH2003"]
            ticket = ProfileService(sessions).create_ticket(
                bot_for(ZHANG), ZHANG, TicketCategory.FEES, "年费扣了两次", purpose=PURPOSE
            )
            assert ticket.handler_name == "赵敏"
        finally:
            sessions.kw["bind"].dispose()


# -- complaints ----------------------------------------------------------------------------------


def ticket_row(sessions: sessionmaker, reference: str) -> tuple[Ticket, set[Skill], bool]:
    with sessions() as session:
        ticket = session.scalars(sa.select(Ticket).where(Ticket.reference == reference)).one()
        return ticket, set(ticket.advisor.skills), ticket.advisor.available


def test_a_ticket_is_due_in_exactly_one_and_twenty_four_hours(service: ProfileService) -> None:
    ticket = service.create_ticket(
        bot_for(ZHANG), ZHANG, TicketCategory.FEES, "年费扣了两次", purpose=PURPOSE
    )
    assert ticket.reference.startswith("TS") and ticket.status is TicketStatus.OPEN
    assert ticket.respond_by - ticket.created_at == dt.timedelta(hours=1)
    assert ticket.resolve_by - ticket.created_at == dt.timedelta(hours=24)


def test_tickets_go_to_complaint_handlers_with_the_fewest_open_tickets(
    service: ProfileService, sessions: sessionmaker
) -> None:
    # 赵敏 XH1001, 周杰 XH1004, 郑浩 XH1006, 马骏 XH3001, 高洁 XH3002 handle complaints; none has one open
    handlers = []
    for customer in (ZHANG, LIU, CHEN):
        ticket = service.create_ticket(
            bot_for(customer), customer, TicketCategory.SERVICE, "排队太久", purpose=PURPOSE
        )
        row, skills, available = ticket_row(sessions, ticket.reference)
        assert Skill.COMPLAINTS in skills and available and row.advisor.name == ticket.handler_name
        handlers.append(ticket.handler_name)
    assert handlers == ["赵敏", "周杰", "郑浩"]


def test_fraud_complaints_go_to_the_fraud_team(service: ProfileService, sessions: sessionmaker) -> None:
    ticket = service.create_ticket(
        bot_for(ZHANG), ZHANG, TicketCategory.FRAUD, "接到冒充客服的电话", purpose=PURPOSE
    )
    _, skills, _ = ticket_row(sessions, ticket.reference)
    assert Skill.FRAUD in skills and ticket.handler_name == "孙丽"


def test_a_ticket_never_stores_pii(service: ProfileService, sessions: sessionmaker) -> None:
    ticket = service.create_ticket(
        bot_for(ZHANG),
        ZHANG,
        TicketCategory.CARD,
        "卡号6222021234567890128被吞了，请回电13812345678",
        purpose=PURPOSE,
    )
    row, _, _ = ticket_row(sessions, ticket.reference)
    assert row.description == "卡号****0128被吞了，请回电138****5678"


def test_open_tickets_newest_first(service: ProfileService, sessions: sessionmaker) -> None:
    [seeded] = service.tickets(bot_for(CHEN), CHEN, purpose=PURPOSE, open_only=True)
    assert (seeded.category, seeded.status) == (TicketCategory.FEES, TicketStatus.OPEN)
    assert service.tickets(bot_for(ZHANG), ZHANG, purpose=PURPOSE) == ()
    new = service.create_ticket(bot_for(CHEN), CHEN, TicketCategory.CARD, "银行卡被吞了", purpose=PURPOSE)
    assert service.tickets(bot_for(CHEN), CHEN, purpose=PURPOSE, open_only=True) == (new, seeded)
    assert service.tickets(bot_for(CHEN), CHEN, purpose=PURPOSE, limit=1) == (new,)
    reads = [r for r in audit_log(sessions) if r.operation == "tickets"]
    assert [r.outcome for r in reads] == [AuditOutcome.OK] * 4
    with pytest.raises(AccessDenied):
        service.tickets(bot_for(ZHANG), CHEN, purpose=PURPOSE)


def test_another_customers_reference_is_not_found_and_audited(
    service: ProfileService, sessions: sessionmaker
) -> None:
    with sessions() as session:
        chens = session.scalars(
            sa.select(Ticket.reference).join(Customer).where(Customer.customer_no == CHEN)
        ).one()
    with pytest.raises(NotFound):
        service.ticket_status(bot_for(ZHANG), ZHANG, chens, purpose=PURPOSE)
    [record] = audit_log(sessions)
    assert (record.operation, record.customer_no, record.outcome) == (
        "ticket_status",
        ZHANG,
        AuditOutcome.NOT_FOUND,
    )
