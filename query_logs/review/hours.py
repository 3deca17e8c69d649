"""Working hours in local time: what "after hours" means for the review.

Written as ``"Mon-Fri 08:00-19:00"`` (days as ranges or lists, one daily window, end exclusive);
``""`` or ``"none"`` means no working hours at all, so every moment is after hours. Public holidays
and the weekend days swapped for them (调休) are not modelled: a query on such a day is judged by
its weekday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_WORKING_HOURS = "Mon-Fri 08:00-19:00"
DEFAULT_TIMEZONE = "Asia/Shanghai"

_SPEC = re.compile(r"(?P<days>[A-Za-z,-]+)\s+(?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Weekdays (0 = Monday) and one daily window [start, end) in ``zone``."""

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    def is_working(self, moment: datetime) -> bool:
        """True when the aware ``moment`` falls inside working hours, in local time."""
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def describe(self) -> str:
        """The spec back, with the zone: shown in reports so a finding can be re-checked."""
        if not self.days:
            return f"none ({self.zone.key})"
        days = ",".join(DAYS[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} ({self.zone.key})"


def _day(name: str, spec: str) -> int:
    try:
        return DAYS.index(name.strip().capitalize())
    except ValueError:
        raise ValueError(f"working hours {spec!r}: unknown day {name!r}") from None


def _parse_days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        a = _day(first, spec)
        b = _day(last, spec) if last else a
        if b < a:
            raise ValueError(f"working hours {spec!r}: day range {part!r} runs backwards")
        days.update(range(a, b + 1))
    return frozenset(days)


def _parse_time(text: str, spec: str) -> time:
    hours, minutes = int(text[:2]), int(text[3:])
    if hours == 24 and minutes == 0:
        return time.max  # "24:00": to the end of the day
    if hours > 23 or minutes > 59:
        raise ValueError(f"working hours {spec!r}: {text!r} is not a time of day")
    return time(hours, minutes)


def parse_working_hours(spec: str, timezone: str = DEFAULT_TIMEZONE) -> WorkingHours:
    """``WorkingHours`` from a spec such as ``"Mon-Fri 08:00-19:00"``; ValueError if malformed."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    text = spec.strip()
    if text.lower() in ("", "none"):
        return WorkingHours(frozenset(), time(0), time(0), zone)
    match = _SPEC.fullmatch(text)
    if match is None:
        raise ValueError(f"working hours {spec!r}: expected e.g. {DEFAULT_WORKING_HOURS!r}")
    start = _parse_time(match["start"], spec)
    end = _parse_time(match["end"], spec)
    if end <= start:
        raise ValueError(f"working hours {spec!r}: the window must end after it starts")
    return WorkingHours(_parse_days(match["days"], spec), start, end, zone)
