"""The measure definitions on hand-made reporting rows (bot/analytics/measures.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.analytics.measures import (
    Scope,
    complaint_measures,
    conversation_measures,
    handoff_measures,
    percentile,
    satisfaction,
)
from bot.analytics.models import ReportConversation, ReportHandoff, ReportTicket
from bot.dates import CHINA

UTC = dt.timezone.utc
DAY = dt.date(2026, 12, 1)


def talk(started: dt.datetime, escalated: bool = False, rating: int | None = None, reason: str | None = None):
    return ReportConversation(
        started_at=started,
        escalated=escalated,
        rating=rating,
        handoff_reason=reason,
        turns=1,
        simulated=False,
    )


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.95) == 95 and percentile(values, 1) == 100
    assert percentile([7.0], 0.95) == 7 and percentile([], 0.5) is None


def test_a_day_is_a_day_in_china() -> None:
    scope = Scope(DAY, DAY + dt.timedelta(days=1))
    late_evening_utc = dt.datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 December in China
    data = conversation_measures(scope, [talk(late_evening_utc)])
    assert [d["conversations"] for d in data["per_day"]] == [0, 1]
    assert scope.start == dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_containment_and_handoff_reasons() -> None:
    noon = dt.datetime(2026, 12, 1, 12, 0, tzinfo=CHINA)
    talks = [talk(noon), talk(noon), talk(noon, True, reason="fraud"), talk(noon, True, reason="complaint")]
    data = conversation_measures(Scope(DAY, DAY), talks)
    assert data["containment"] == 0.5 and data["handoff_rate"] == 0.5
    assert {r["reason"]: r["rate"] for r in data["handoffs_by_reason"]} == {"fraud": 0.25, "complaint": 0.25}
    assert conversation_measures(Scope(DAY, DAY), [])["containment"] is None  # nothing to divide


def test_satisfaction_is_the_average_and_the_share_of_four_and_five() -> None:
    noon = dt.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    data = satisfaction([talk(noon, rating=r) for r in (5, 4, 2, 1)] + [talk(noon)])
    assert (data["ratings"], data["average"], data["csat"]) == (4, 3.0, 0.5)
    assert [d["ratings"] for d in data["distribution"]] == [1, 1, 0, 1, 1]


def test_queue_wait_handling_time_and_abandonment() -> None:
    queued = dt.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)

    def handoff(wait: int | None, handling: int | None, status: str = "closed") -> ReportHandoff:
        claimed = queued + dt.timedelta(seconds=wait) if wait is not None else None
        ended = claimed + dt.timedelta(seconds=handling) if claimed and handling is not None else None
        return ReportHandoff(
            queued_at=queued, claimed_at=claimed, ended_at=ended, status=status, priority="P3", skill="cards"
        )

    data = handoff_measures([handoff(10, 60), handoff(30, 120), handoff(None, None, "cancelled")])
    assert data["queue_wait_s"] == {"p50": 10.0, "p95": 30.0}
    assert data["handling_s"] == {"p50": 60.0, "p95": 120.0}
    assert (data["handoffs"], data["claimed"], data["abandoned"]) == (3, 2, 1)


@pytest.mark.parametrize(
    ("status", "age_hours", "late_response", "late_resolution"),
    [
        ("open", 0.5, 0, 0),  # within the hour
        ("open", 2, 1, 0),  # nobody answered within the hour
        ("in_progress", 2, 0, 0),  # answered, 22 hours left
        ("in_progress", 30, 0, 1),  # not resolved within a day
        ("resolved", 30, 0, 0),
    ],
)
def test_complaints_against_the_one_hour_and_one_day_promise(
    status: str, age_hours: float, late_response: int, late_resolution: int
) -> None:
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    opened = now - dt.timedelta(hours=age_hours)
    ticket = ReportTicket(
        category="fees",
        status=status,
        created_at=opened,
        respond_by=opened + dt.timedelta(hours=1),
        resolve_by=opened + dt.timedelta(hours=24),
    )
    data = complaint_measures([ticket], now)
    assert (data["overdue_response"], data["overdue_resolution"]) == (late_response, late_resolution)
    assert data["open"] == (status in ("open", "in_progress"))
