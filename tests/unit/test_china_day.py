"""``china_day``: an instant at ``datetime.UTC`` takes the eight-hour shift, any other the
memoised ``astimezone`` path; both give ``at.astimezone(CHINA).date()`` (or its error)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tongxiu.projections.workdays import CHINA, china_day


def _expected(at: datetime) -> date:
    return at.astimezone(CHINA).date()


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 1, 25, 15, 59, 59, tzinfo=UTC),  # 23:59:59 in China: the same day
        datetime(2026, 1, 25, 16, 0, 0, tzinfo=UTC),  # 00:00 in China: the next day
        datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC),  # the next year in China
        datetime(2028, 2, 28, 20, 0, 0, tzinfo=UTC),  # 29 February in China
        datetime(2026, 6, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 0, tzinfo=UTC),
    ],
)
def test_utc_instants_give_the_china_day(at: datetime) -> None:
    assert at.tzinfo is UTC
    assert china_day(at) == _expected(at)


def test_the_china_day_is_eight_hours_ahead() -> None:
    assert china_day(datetime(2026, 1, 25, 15, 59, 59, tzinfo=UTC)) == date(2026, 1, 25)
    assert china_day(datetime(2026, 1, 25, 16, 0, 0, tzinfo=UTC)) == date(2026, 1, 26)


@pytest.mark.parametrize(
    "tz",
    [CHINA, timezone(timedelta(0), "Z"), timezone(timedelta(hours=-5)), timezone(timedelta(hours=9, minutes=30))],
)
def test_other_zones_give_the_china_day(tz: timezone) -> None:
    for hour in range(24):
        at = datetime(2026, 3, 1, hour, 30, tzinfo=tz)
        assert china_day(at) == _expected(at)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        china_day(datetime(2026, 1, 25, 12, 0))


def test_beyond_the_last_day_the_same_error() -> None:
    at = datetime(9999, 12, 31, 20, 0, tzinfo=UTC)
    with pytest.raises(OverflowError):
        _expected(at)
    with pytest.raises(OverflowError):
        china_day(at)
