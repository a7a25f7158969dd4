"""Working days with holidays and adjusted weekends (调休), fallback and operator data files."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxiu.projections.workdays import CalendarYear, WorkCalendar, WorkdayResult, add_months

# A year the chinesecalendar package will not have data for in the life of this code.
NO_DATA_YEAR = 2099


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def write_year(directory: Path, year: int, holidays: list[str], workdays: list[str], name: str = "") -> Path:
    path = directory / f"{name or year}.json"
    path.write_text(json.dumps({"year": year, "holidays": holidays, "workdays": workdays}), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- Spring Festival 2025


def test_spring_festival_2025_days(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2025, 1, 24)) is True  # Friday
    assert cal.is_workday(date(2025, 1, 25)) is False  # Saturday
    assert cal.is_workday(date(2025, 1, 26)) is True  # Sunday, adjusted working day
    assert cal.is_workday(date(2025, 1, 27)) is True  # Monday
    for offset in range(8):  # 2025-01-28 .. 2025-02-04
        assert cal.is_workday(date(2025, 1, 28) + timedelta(days=offset)) is False
    assert cal.is_workday(date(2025, 2, 5)) is True
    assert cal.is_workday(date(2025, 2, 8)) is True  # Saturday, adjusted working day
    assert cal.is_estimated(date(2025, 1, 26)) is False


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, date(2025, 1, 24)),
        (1, date(2025, 1, 26)),
        (2, date(2025, 1, 27)),
        (3, date(2025, 2, 5)),
        (4, date(2025, 2, 6)),
    ],
)
def test_add_working_days_across_spring_festival(cal: WorkCalendar, n: int, expected: date) -> None:
    assert cal.add_working_days(date(2025, 1, 24), n) == WorkdayResult(date=expected, estimated=False)


def test_receipt_on_the_eve_of_the_holiday_is_due_after_it(cal: WorkCalendar) -> None:
    # Received Monday 2025-01-27: 3 working days are 02-05, 02-06, 02-07.
    assert cal.add_working_days(date(2025, 1, 27), 3).date == date(2025, 2, 7)


def test_working_days_between_is_half_open(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2025, 1, 24), date(2025, 2, 5)) == 3
    assert cal.working_days_between(date(2025, 1, 27), date(2025, 2, 5)) == 1
    assert cal.working_days_between(date(2025, 1, 28), date(2025, 2, 4)) == 0
    assert cal.working_days_between(date(2025, 1, 24), date(2025, 1, 24)) == 0
    assert cal.working_days_between(date(2025, 2, 5), date(2025, 1, 24)) == -3


def test_negative_count_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 1, 24), -1)


def test_datetime_is_treated_as_its_date(cal: WorkCalendar) -> None:
    assert cal.is_workday(datetime(2025, 1, 26, 9, 30)) is True
    assert cal.add_working_days(datetime(2025, 1, 24, 18, 0), 1).date == date(2025, 1, 26)


@given(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31)), st.integers(min_value=0, max_value=30)
)
def test_between_inverts_add(start: date, n: int) -> None:
    cal = WorkCalendar()
    result = cal.add_working_days(start, n)
    assert cal.working_days_between(start, result.date) == n
    assert n == 0 or cal.is_workday(result.date)


# --------------------------------------------------------------------------- fallback


def test_year_without_data_falls_back_to_monday_friday_and_is_estimated(cal: WorkCalendar) -> None:
    new_year = date(NO_DATA_YEAR, 1, 1)  # a Thursday
    assert new_year.weekday() == 3
    assert cal.is_workday(new_year) is True  # the guess: really a holiday
    assert cal.is_workday(date(NO_DATA_YEAR, 1, 3)) is False  # Saturday
    assert cal.is_estimated(new_year) is True
    assert cal.add_working_days(date(NO_DATA_YEAR - 1, 12, 31), 2) == WorkdayResult(
        date=date(NO_DATA_YEAR, 1, 2), estimated=True
    )


def test_estimate_only_when_a_counted_day_used_the_fallback(cal: WorkCalendar) -> None:
    # 2026 is in the package; 2027 may not be. A count that stays in 2026 is exact.
    assert cal.add_working_days(date(2026, 12, 28), 1) == WorkdayResult(
        date=date(2026, 12, 29), estimated=False
    )
    far = cal.add_working_days(date(NO_DATA_YEAR - 1, 12, 30), 1)
    assert far.estimated is True


def test_data_file_removes_the_estimate(tmp_path: Path) -> None:
    write_year(
        tmp_path,
        NO_DATA_YEAR,
        holidays=[f"{NO_DATA_YEAR}-01-01", f"{NO_DATA_YEAR}-01-02"],
        workdays=[f"{NO_DATA_YEAR}-01-04"],  # a Sunday made a working day
    )
    cal = WorkCalendar(tmp_path)
    assert cal.data_years == frozenset({NO_DATA_YEAR})
    assert cal.is_workday(date(NO_DATA_YEAR, 1, 1)) is False
    assert cal.is_workday(date(NO_DATA_YEAR, 1, 4)) is True
    assert cal.is_workday(date(NO_DATA_YEAR, 1, 5)) is True  # unlisted Monday
    assert cal.is_workday(date(NO_DATA_YEAR, 1, 10)) is False  # unlisted Saturday
    assert cal.is_estimated(date(NO_DATA_YEAR, 1, 1)) is False
    # From 2098-12-31 (not counted): 01-01 and 01-02 off, Sat off, Sun 01-04 works, Mon 01-05.
    assert cal.add_working_days(date(NO_DATA_YEAR - 1, 12, 31), 2) == WorkdayResult(
        date=date(NO_DATA_YEAR, 1, 5), estimated=False
    )


def test_data_file_result_is_exact(tmp_path: Path) -> None:
    write_year(
        tmp_path, NO_DATA_YEAR, holidays=[f"{NO_DATA_YEAR}-01-01", f"{NO_DATA_YEAR}-01-02"], workdays=[]
    )
    cal = WorkCalendar(tmp_path)
    # From Thursday 2099-01-01 (holiday): Fri 01-02 holiday, weekend, Mon 01-05, Tue 01-06.
    assert cal.add_working_days(date(NO_DATA_YEAR, 1, 1), 2) == WorkdayResult(
        date=date(NO_DATA_YEAR, 1, 6), estimated=False
    )
    assert WorkCalendar().add_working_days(date(NO_DATA_YEAR, 1, 1), 2) == WorkdayResult(
        date=date(NO_DATA_YEAR, 1, 5), estimated=True
    )


def test_data_file_overrides_the_package_day_by_day(tmp_path: Path) -> None:
    write_year(tmp_path, 2025, holidays=["2025-01-27"], workdays=["2025-01-29"])
    cal = WorkCalendar(tmp_path)
    assert cal.is_workday(date(2025, 1, 27)) is False  # listed holiday wins
    assert cal.is_workday(date(2025, 1, 29)) is True  # listed workday wins
    assert cal.is_workday(date(2025, 1, 26)) is True  # unlisted: the package's adjusted Sunday
    assert cal.is_workday(date(2025, 1, 30)) is False  # unlisted: the package's holiday


def test_years_can_be_given_in_memory() -> None:
    year = CalendarYear(year=NO_DATA_YEAR, holidays=frozenset({date(NO_DATA_YEAR, 1, 1)}))
    cal = WorkCalendar(years=[year])
    assert cal.is_workday(date(NO_DATA_YEAR, 1, 1)) is False
    assert cal.is_estimated(date(NO_DATA_YEAR, 6, 1)) is False


def test_the_same_year_twice_is_an_error(tmp_path: Path) -> None:
    write_year(tmp_path, NO_DATA_YEAR, holidays=[], workdays=[], name="a")
    write_year(tmp_path, NO_DATA_YEAR, holidays=[], workdays=[], name="b")
    with pytest.raises(ValueError, match="given twice"):
        WorkCalendar(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        {"year": 2099, "holidays": ["2098-12-31"], "workdays": []},  # outside the year
        {"year": 2099, "holidays": ["2099-01-01"], "workdays": ["2099-01-01"]},  # both
        {"year": 2099, "holidays": [], "workday": []},  # misspelt key
        {"year": 2099, "holidays": ["2099-02-30"]},  # no such date
    ],
)
def test_bad_data_files_are_rejected_naming_the_file(tmp_path: Path, content: dict[str, object]) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        WorkCalendar(tmp_path)


def test_non_json_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("not a calendar", encoding="utf-8")
    assert WorkCalendar(tmp_path).data_years == frozenset()


# --------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 3, 31), 3, date(2025, 6, 30)),
        (date(2025, 11, 15), 3, date(2026, 2, 15)),
        (date(2025, 7, 31), 36, date(2028, 7, 31)),
        (date(2025, 5, 31), -3, date(2025, 2, 28)),
        (date(2025, 5, 17), 0, date(2025, 5, 17)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)),
    st.integers(min_value=-600, max_value=600),
)
def test_add_months_lands_in_the_right_month(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day == start.day or (result.day < start.day and (result + timedelta(days=1)).day == 1)
