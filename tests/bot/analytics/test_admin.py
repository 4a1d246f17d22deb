"""The dashboard's request parsing and CSV files (bot/analytics/admin.py); its API end to end is in
tests/e2e/test_dashboard.py."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from bot.analytics.admin import BadScope, csv_text, intent_labels, parse_scope
from bot.analytics.measures import BUTTON_INTENTS

TODAY = dt.date(2026, 12, 7)
CHANNELS = ("rest", "socketio", "wechat")


def test_the_default_period_is_the_last_fourteen_days_with_simulated_traffic() -> None:
    scope = parse_scope({}, TODAY, CHANNELS)
    assert (scope.first, scope.last, scope.channel, scope.simulated) == (
        dt.date(2026, 11, 24),
        TODAY,
        None,
        True,
    )
    only_real = parse_scope(
        {"first": "2026-12-01", "last": "2026-12-02", "channel": "wechat", "simulated": "0"}, TODAY, CHANNELS
    )
    assert (only_real.first, only_real.channel, only_real.simulated) == (
        dt.date(2026, 12, 1),
        "wechat",
        False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": "2026-13-01"}, "日期格式"),
        ({"first": "yesterday"}, "日期格式"),
        ({"first": "2026-12-05", "last": "2026-12-01"}, "开始日期不能晚于结束日期"),
        ({"first": "2024-01-01", "last": "2026-12-01"}, "最长 366 天"),
        ({"channel": "<script>"}, "未知的渠道"),
    ],
)
def test_a_scope_the_dashboard_cannot_show_is_refused_in_chinese(args: dict, message: str) -> None:
    with pytest.raises(BadScope, match=message):
        parse_scope(args, TODAY, CHANNELS)


def test_csv_opens_in_spreadsheets_and_never_runs_a_customers_formula() -> None:
    text = csv_text(
        [{"question": '=HYPERLINK("http://evil")', "asked": 3}, {"question": "年费怎么收", "asked": 2}]
    )
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        {"question": '\'=HYPERLINK("http://evil")', "asked": "3"},
        {"question": "年费怎么收", "asked": "2"},
    ]
    assert csv_text([]).strip() == "\ufeffempty"


def test_every_intent_has_a_chinese_label() -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    names = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    assert names - BUTTON_INTENTS <= set(intent_labels())
