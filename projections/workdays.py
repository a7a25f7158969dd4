"""Working days (工作日) for deadlines, and calendar-month arithmetic for publicity periods.

Every deadline in credit repair is counted in working days: the deciding department has
3 working days, a withdrawal must happen within 3 working days, and so on. Chinese working
days are not Monday-Friday: public holidays are moved each year and some weekends become
working days (调休), announced by the State Council every November for the next year. So a
calendar is needed per year, as data.

Sources, in order of precedence:

1. Operator data files (``extra_dir/*.json``), one per year::

       {"year": 2027, "holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}

   ``holidays`` are days off that would otherwise be working days; ``workdays`` are the
   adjusted working weekends. A day listed in a file wins over everything else, so a file can
   both extend the package (a year it does not know yet) and override it (a correction). A year
   that has a file is treated as fully known: days it does not list follow Monday-Friday
   (outside the package's years) or the package (inside them), and nothing in it is estimated.
2. The ``chinesecalendar`` package (``chinese_calendar.is_workday``).
3. Monday-Friday for a year neither knows. Such a result may be wrong (a holiday counted as a
   working day), so it is marked *estimated*: a deadline computed from it must be shown as
   provisional and recomputed once the year's calendar is loaded.

The files are read once, in the constructor; every other method is a pure function of the
loaded data, so folds that use a calendar stay deterministic.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

#: China Standard Time (Asia/Shanghai has had no DST since 1991): UTC+8.
CHINA = timezone(timedelta(hours=8))


_CHINA_OFFSET = timedelta(hours=8)


def china_day(at: datetime) -> date:
    """Which calendar day it is in China at the instant ``at`` (the one place every layer asks:
    deadlines, overdue flags and "today" are China days, never UTC dates). An instant at
    ``datetime.UTC`` (every decoded envelope's) is moved eight hours on: the same day as
    ``astimezone(CHINA)``, about as cheap as a memo's hit and with no memo keyed on the
    instant (a ledger's instants are nearly all distinct); any other through
    :func:`_china_day` (memoised)."""
    if at.tzinfo is UTC:
        return (at + _CHINA_OFFSET).date()
    return _china_day(at)


@functools.lru_cache(maxsize=4096)
def _china_day(at: datetime) -> date:
    """:func:`china_day` of an instant not at ``datetime.UTC``."""
    if at.tzinfo is None:
        raise ValueError("china_day needs a timezone-aware instant")
    return at.astimezone(CHINA).date()

_ONE_DAY = timedelta(days=1)


class CalendarYear(BaseModel):
    """One year's official calendar as an operator supplies it (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    #: Free text such as the notice number (国办发明电〔2026〕N号); ignored by the calendar.
    source: str | None = None

    @model_validator(mode="after")
    def _days_belong_to_year_and_do_not_clash(self) -> CalendarYear:
        stray = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if stray:
            raise ValueError(f"dates outside year {self.year}: {', '.join(map(str, stray))}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"dates listed as both holiday and workday: {', '.join(map(str, both))}")
        return self


@dataclass(frozen=True)
class WorkdayResult:
    """A date computed by counting working days.

    ``estimated`` is True when any day examined on the way was judged by the Monday-Friday
    fallback, i.e. the date may move once that year's calendar is loaded.
    """

    date: date
    estimated: bool


def _as_date(d: date) -> date:
    # datetime is a subclass of date but never equal to one, so set look-ups would miss it.
    return d.date() if isinstance(d, datetime) else d


def _package_is_workday(d: date) -> bool | None:
    """The package's answer, or None for a year it has no data for."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return None


class WorkCalendar:
    """Chinese working-day calendar: data files, then the package, then Monday-Friday."""

    def __init__(self, extra_dir: Path | None = None, *, years: Iterable[CalendarYear] = ()) -> None:
        """Load ``extra_dir/*.json`` (if given) plus any ``years`` passed in memory.

        Two sources for the same year are an error rather than a silent merge: which of two
        conflicting calendars is right is an operator's call, not ours.
        """
        loaded: list[tuple[str, CalendarYear]] = [("<argument>", y) for y in years]
        if extra_dir is not None:
            loaded.extend((str(p), load_calendar_year(p)) for p in sorted(Path(extra_dir).glob("*.json")))
        self._years: dict[int, CalendarYear] = {}
        origin: dict[int, str] = {}
        for where, year in loaded:
            if year.year in self._years:
                raise ValueError(f"calendar year {year.year} given twice: {origin[year.year]} and {where}")
            self._years[year.year] = year
            origin[year.year] = where

    @property
    def data_years(self) -> frozenset[int]:
        """Years covered by operator data files (not the package)."""
        return frozenset(self._years)

    def _judge(self, d: date) -> tuple[bool, bool]:
        """(is_workday, estimated) for one day."""
        d = _as_date(d)
        year = self._years.get(d.year)
        if year is not None:
            if d in year.workdays:
                return True, False
            if d in year.holidays:
                return False, False
            packaged = _package_is_workday(d)
            return (d.weekday() < 5 if packaged is None else packaged), False
        packaged = _package_is_workday(d)
        if packaged is None:
            return d.weekday() < 5, True
        return packaged, False

    def is_workday(self, d: date) -> bool:
        """True if ``d`` is a working day (adjusted working weekends included)."""
        return self._judge(d)[0]

    def is_estimated(self, d: date) -> bool:
        """True if ``is_workday(d)`` comes from the Monday-Friday fallback."""
        return self._judge(d)[1]

    def add_working_days(self, start: date, n: int) -> WorkdayResult:
        """The n-th working day after ``start`` (``start`` itself is not counted).

        This is the last day of "within n working days of X": a decision due "within 3 working
        days" of a Friday receipt is due on the following Wednesday. ``n == 0`` returns
        ``start``. Negative ``n`` is refused: deadlines only run forwards.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = _as_date(start)
        estimated = False
        remaining = n
        while remaining > 0:
            day += _ONE_DAY
            working, guessed = self._judge(day)
            estimated = estimated or guessed
            if working:
                remaining -= 1
        return WorkdayResult(date=day, estimated=estimated)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in the half-open interval (a, b].

        So ``working_days_between(x, add_working_days(x, n).date) == n``, which is how an
        auditor checks a deadline was met: ``working_days_between(received, decided) <= 3``.
        If ``b`` is before ``a`` the result is the negative count over (b, a].
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a
        while day < b:
            day += _ONE_DAY
            if self._judge(day)[0]:
                count += 1
        return count


def load_calendar_year(path: Path) -> CalendarYear:
    """Read one operator calendar file; errors name the file so the operator can fix it."""
    try:
        return CalendarYear.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise ValueError(f"bad calendar file {path}: {exc}") from exc


def add_months(d: date, months: int) -> date:
    """``d`` plus whole calendar months, clamped to the month's end (Jan 31 + 1 month = Feb 28/29).

    Publicity periods are stated in months and years ("3 months", "1 year" = 12 months), and
    民法典 Art. 200-203 count such periods to the corresponding day of the target month, or
    its last day when there is none. ``months`` may be negative.
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if d.day <= 28:  # every month has the day: no month length needed
        return date(year, month, d.day)
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))
