"""EventBridge Scheduler's expressions: cron(...), rate(...) and at(...), checked as Scheduler checks them, and the
next time a cron or at expression fires.

The rules are those of Scheduler's user guide, "Schedule types on EventBridge Scheduler": six cron fields (minutes,
hours, day of month, month, day of week, year), one of the two day fields a `?`; a rate of a whole number of
minutes, hours or days, singular for 1; an at(...) of a local date and time; and an IANA time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
#: Each cron field: its range and the names it takes for its numbers.
_FIELDS = (
    ("minutes", 0, 59, []),
    ("hours", 0, 23, []),
    ("day-of-month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, []),
)
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_CRON = re.compile(r"cron\(([^()]*)\)")
#: How far ahead next_run looks for a cron expression's next time.
_HORIZON_DAYS = 5 * 366


def expression_problem(expression: object, timezone: object) -> str | None:
    """What Scheduler would refuse in the expression or the time zone; None when it takes both."""
    if not isinstance(timezone, str) or timezone not in available_timezones():
        return f"{timezone!r} is not a time zone (an IANA name such as 'UTC' or 'America/Sao_Paulo')"
    if not isinstance(expression, str):
        return "'schedule' must be a cron(...), rate(...) or at(...) expression"
    if rate := _RATE.fullmatch(expression):
        value, unit = int(rate[1]), rate[2]
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            return f"{expression!r}: a rate is 1 {unit.rstrip('s')}, or 2 or more {unit.rstrip('s')}s"
        return None
    if at := _AT.fullmatch(expression):
        try:
            datetime.fromisoformat(at[1])
        except ValueError:
            return f"{expression!r} is not a date and time (at(yyyy-mm-ddThh:mm:ss))"
        return None
    if cron := _CRON.fullmatch(expression):
        try:
            _cron_fields(cron[1])
        except ValueError as err:
            return f"{expression!r}: {err}"
        return None
    return (
        f"{expression!r} is not a schedule expression: cron(minutes hours day-of-month month day-of-week year), "
        "rate(5 minutes) or at(2027-01-01T03:00:00)"
    )


def next_run(expression: str, timezone: str, after: datetime) -> datetime | None:
    """The first time after `after` (aware) that the expression fires, in its time zone; None for a rate (it
    counts from when its schedule was made), an at() already past, or a cron using L, W or #."""
    zone = ZoneInfo(timezone)
    if at := _AT.fullmatch(expression):
        when = datetime.fromisoformat(at[1]).replace(tzinfo=zone)
        return when if when > after else None
    cron = _CRON.fullmatch(expression)
    if cron is None:
        return None
    fields = _cron_fields(cron[1])
    if fields is None:
        return None
    minutes, hours, days, months, weekdays, years = fields
    start = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.date()
    for _ in range(_HORIZON_DAYS):
        # Scheduler numbers the days of the week from 1, Sunday.
        weekday = (day.isoweekday() % 7) + 1
        if day.year in years and day.month in months and day.day in days and weekday in weekdays:
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if when >= start:
                        return when
        day += timedelta(days=1)
    return None


def _cron_fields(body: str) -> list[set[int]] | None:
    """Each field's values; None when a field uses L, W or # (valid, but next_run does not compute them)."""
    parts = body.split()
    if len(parts) != len(_FIELDS):
        raise ValueError("a cron expression has six fields: minutes hours day-of-month month day-of-week year")
    if (parts[2] == "?") == (parts[4] == "?"):
        raise ValueError("one of day-of-month and day-of-week must be ? (and only one)")
    values: list[set[int]] = []
    special = False
    for text, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        if text == "?":
            values.append(set(range(low, high + 1)))
            continue
        if name in ("day-of-month", "day-of-week") and re.fullmatch(r"(\d{1,2}|[A-Z]{3})?(L|W|#\d)|\d{1,2}W|LW", text):
            special = True
            values.append(set())
            continue
        values.append(_cron_field(text, name, low, high, names))
    return None if special else values


def _cron_field(text: str, name: str, low: int, high: int, names: list[str]) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        if step_text and not step_text.isdigit():
            raise ValueError(f"{item!r} in {name}: the step after / is a number")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        else:
            first_text, _, last_text = base.partition("-")
            first = _cron_number(first_text, name, low, high, names)
            last = _cron_number(last_text, name, low, high, names) if last_text else (high if step_text else first)
        if step < 1 or first > last:
            raise ValueError(f"{item!r} in {name} is an empty range")
        found.update(range(first, last + 1, step))
    return found


def _cron_number(text: str, name: str, low: int, high: int, names: list[str]) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{text!r} is not a {name} ({low} to {high}{', or ' + names[0] + '...' if names else ''})")
    return int(text)
