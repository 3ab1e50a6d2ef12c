"""The periodic report's schedule: when one is due, as plain arithmetic on times.

The store only remembers which slots have had their report
(:class:`sync.store.cycles.ReportLog`); this module works out the slots from
``report.every`` and ``report.at`` in the practice's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sync.config import ReportConfig
from sync.store.cycles import ReportLog
from sync.store.db import aware


def next_report_due(
    log: ReportLog, report: ReportConfig, tz: tzinfo | str | None, now: datetime
) -> datetime | None:
    """When the next periodic report is due: at or before ``now`` means send it now.

    None when reports are off. The first call on a store starts the schedule,
    so a new store sends its first report at the next slot, not at once; after
    downtime, only the latest missed report is due (once), not every one.
    """
    zone = zone_of(tz, now)
    latest = latest_slot(report, zone, now)
    if latest is None:
        return None
    if latest > log.baseline(now):
        return latest
    return next_slot(report, zone, now)


def zone_of(tz: tzinfo | str | None, now: datetime) -> tzinfo:
    """A time zone from a name, a tzinfo, or None: the zone ``now`` is in on this machine."""
    if isinstance(tz, str):
        return ZoneInfo(tz)
    if tz is None:
        return aware(now).astimezone().tzinfo or UTC
    return tz


def latest_slot(report: ReportConfig, tz: tzinfo, now: datetime) -> datetime | None:
    """The latest scheduled report time at or before ``now`` (UTC), or None when off."""
    if report.every == "off":
        return None
    aware(now)
    step = 7 if report.every == "week" else 1
    day = now.astimezone(tz).date()
    if report.every == "week":
        day -= timedelta(days=day.weekday())  # Monday
    slot = _slot(day, report.at, tz)
    while slot > now:
        day -= timedelta(days=step)
        slot = _slot(day, report.at, tz)
    return slot


def next_slot(report: ReportConfig, tz: tzinfo, now: datetime) -> datetime | None:
    """The first scheduled report time after ``now`` (UTC), or None when off."""
    latest = latest_slot(report, tz, now)
    if latest is None:
        return None
    step = 7 if report.every == "week" else 1
    day = latest.astimezone(tz).date()
    slot = latest
    while slot <= now:
        day += timedelta(days=step)
        slot = _slot(day, report.at, tz)
    return slot


def _slot(day: date, at: str, tz: tzinfo) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
