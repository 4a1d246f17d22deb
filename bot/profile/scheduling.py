"""Who can see a customer when: advisors' shifts and booked hours, and who handles a complaint.

Kept apart from ``service.py``, which authorizes and audits: these functions only read and write
inside the session the service opened for one request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.dates import CHINA
from bot.profile.models import (
    Advisor,
    AdvisorSkill,
    Appointment,
    AppointmentStatus,
    Role,
    Skill,
    Ticket,
    TicketCategory,
    TicketStatus,
)

APPOINTMENT_LENGTH = dt.timedelta(hours=1)
MAX_SUGGESTED_SLOTS = 3
HANDLING = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)  # tickets not resolved or closed yet


@dataclass(frozen=True)
class BookingWindow:
    """When customers may meet an advisor, in China time: branch hours and the bookable days.

    The caller sets it from its business rules (``actions/policy.yml``), so the same rules decide what
    the customer may ask for and which other times are offered.
    """

    opening: dt.time
    closing: dt.time
    first_day: dt.date
    last_day: dt.date

    def allows(self, local: dt.datetime) -> bool:
        return self.first_day <= local.date() <= self.last_day and self.opening <= local.time() < self.closing

    def hours_after(self, local: dt.datetime) -> Iterator[dt.datetime]:
        """The whole hours after ``local`` that a meeting may start at, up to the last day."""
        moment = local.replace(minute=0, second=0, microsecond=0) + APPOINTMENT_LENGTH
        while moment.date() <= self.last_day:
            if self.allows(moment):
                yield moment
            moment += APPOINTMENT_LENGTH


# -- end appointments and complaints --


def on_shift(advisor: Advisor, local: dt.datetime) -> bool:
    """Working that weekday and on shift for the whole hour (night shifts do not meet customers)."""
    end = local + APPOINTMENT_LENGTH
    return (
        str(local.isoweekday()) in advisor.working_days
        and end.date() == local.date()
        and advisor.shift_start <= local.time()
        and end.time() <= advisor.shift_end
    )


@dataclass(frozen=True)
class Calendar:
    """The available advisors with one skill and their booked hours within a booking window."""

    advisors: tuple[Advisor, ...]
    booked: dict[int, tuple[dt.datetime, ...]]

    @classmethod
    def load(cls, session: Session, skill: Skill, window: BookingWindow) -> Calendar:
        query = (
            sa.select(Advisor)
            .join(AdvisorSkill, AdvisorSkill.advisor_id == Advisor.id)
            .where(AdvisorSkill.skill == skill, Advisor.role == Role.ADVISOR, Advisor.available.is_(True))
            .order_by(Advisor.staff_no)
        )
        advisors = tuple(session.scalars(query))
        since = dt.datetime.combine(window.first_day, dt.time(), CHINA) - APPOINTMENT_LENGTH
        until = dt.datetime.combine(window.last_day + dt.timedelta(days=1), dt.time(), CHINA)
        rows = session.execute(
            sa.select(Appointment.advisor_id, Appointment.starts_at).where(
                Appointment.advisor_id.in_([a.id for a in advisors]),
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.starts_at >= since,
                Appointment.starts_at < until + APPOINTMENT_LENGTH,
            )
        )
        booked: dict[int, list[dt.datetime]] = {a.id: [] for a in advisors}
        for advisor_id, starts_at in rows:
            booked[advisor_id].append(starts_at)
        return cls(advisors, {key: tuple(times) for key, times in booked.items()})

    def is_free(self, advisor: Advisor, local: dt.datetime) -> bool:
        overlapping = any(abs(taken - local) < APPOINTMENT_LENGTH for taken in self.booked[advisor.id])
        return on_shift(advisor, local) and not overlapping

    def bookings_on(self, advisor: Advisor, day: dt.date) -> int:
        return sum(taken.astimezone(CHINA).date() == day for taken in self.booked[advisor.id])

    def free_advisors(self, local: dt.datetime, own_advisor_id: int | None) -> list[Advisor]:
        """Who could take the hour, best first: the customer's own advisor, then the least booked that day."""
        free = [a for a in self.advisors if self.is_free(a, local)]
        return sorted(free, key=lambda a: (a.id != own_advisor_id, self.bookings_on(a, local.date())))

    def next_free(self, local: dt.datetime, window: BookingWindow) -> tuple[dt.datetime, ...]:
        found: list[dt.datetime] = []
        for hour in window.hours_after(local):
            if len(found) == MAX_SUGGESTED_SLOTS:
                break
            if any(self.is_free(a, hour) for a in self.advisors):
                found.append(hour)
        return tuple(found)


@dataclass(frozen=True)
class Booking:
    reference: str
    customer_id: int
    advisor_id: int
    skill: Skill
    branch: str
    starts_at: dt.datetime

    def claim(self, session: Session) -> Appointment | None:
        """The booked appointment, or None (nothing left written) if the advisor's hour was taken meanwhile.

        Written first and checked after: on SQLite the insert takes the database's write lock, so the
        check sees every other booking; on PostgreSQL the advisor's row lock queues bookings of one advisor.
        """
        session.execute(sa.select(Advisor.id).where(Advisor.id == self.advisor_id).with_for_update())
        appointment = Appointment(
            reference=self.reference,
            customer_id=self.customer_id,
            advisor_id=self.advisor_id,
            topic=self.skill,
            branch=self.branch,
            starts_at=self.starts_at,
            status=AppointmentStatus.BOOKED,
        )
        session.add(appointment)
        session.flush()
        overlapping = sa.select(sa.func.count(Appointment.id)).where(
            Appointment.advisor_id == self.advisor_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > self.starts_at - APPOINTMENT_LENGTH,
            Appointment.starts_at < self.starts_at + APPOINTMENT_LENGTH,
        )
        if session.scalar(overlapping) == 1:
            return appointment
        session.delete(appointment)
        session.flush()
        return None


def ticket_handler(session: Session, category: TicketCategory) -> Advisor | None:
    """The available member of staff with the skill the complaint needs and the fewest open tickets."""
    skill = Skill.FRAUD if category is TicketCategory.FRAUD else Skill.COMPLAINTS
    open_tickets = (
        sa.select(sa.func.count(Ticket.id))
        .where(Ticket.advisor_id == Advisor.id, Ticket.status.in_(HANDLING))
        .correlate(Advisor)
        .scalar_subquery()
    )
    query = (
        sa.select(Advisor)
        .join(AdvisorSkill, AdvisorSkill.advisor_id == Advisor.id)
        .where(AdvisorSkill.skill == skill, Advisor.available.is_(True))
        .order_by(open_tickets, Advisor.staff_no)
        .limit(1)
    )
    return session.scalar(query)
