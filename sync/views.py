"""A cycle turned into text, for every view of it.

    summary(cycle)        a cycle in plain text
    sync_text(cycle)      what ``creditsheet sync`` prints (with each change, for a dry run)
    not_written(cycle)    why ``creditsheet sync`` stops, when it does
    change_lines(plan)    what ``creditsheet sync --dry-run`` would change, cell by cell
    log_line(cycle)       the daemon's one log line for a cycle
    cycle_json(cycle)     ``sync --json``, the daemon's JSON log
    cycle_outcome(cycle), cycle_figures(cycle, alerts)
                          a cycle as the state store remembers it for ``status``
    status_text(config, now, daemon=pid)
                          what ``creditsheet status`` prints: the daemon, then
    status_lines(store, config, now, tz)
                          the cycles remembered, the mail waiting, the next report

Colors are named from :mod:`rules.schema`, never retyped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from rules.schema import AMBER, GREEN, GREY, RED, SessionStatus
from rules.tabs import column_letter
from rules.words import plural
from sync.alerts import AlertCounts
from sync.backends.base import CellChange, WritePlan
from sync.calendar.importer import CalendarImport
from sync.calendar.views import status_lines as calendar_status
from sync.calendar.views import summary_line as calendar_summary
from sync.config import Config
from sync.cycle import Cycle
from sync.diff import describe
from sync.schedule import next_report_due, zone_of
from sync.store import Store
from sync.store.cycles import CycleRecord
from sync.store.outbox import QueuedMessage


def cycle_json(cycle: Cycle) -> dict[str, object]:
    """The cycle as one JSON object: ``sync --json``, the daemon's JSON log, the store."""
    sessions = cycle.sessions_by_status()
    return {
        "workbook": cycle.workbook,
        "today": cycle.today.isoformat(),
        "dry_run": cycle.dry_run,
        "rows_read": dict(cycle.rows_read),
        "cells_changed": cycle.plan.size,
        "written": cycle.outcome.written,
        "not_written_reason": cycle.outcome.reason,
        "packages": cycle.packages_by_status(),
        "sessions": {
            "deducted": sessions[SessionStatus.DEDUCTED.value],
            "not_deducted": sessions[SessionStatus.NOT_DEDUCTED.value],
            "rejected": sessions[SessionStatus.REJECTED.value],
            "invalid": sessions[SessionStatus.INVALID.value],
        },
        "rows_with_problems": cycle.rows_with_problems(),
        "problems": [str(p) for p in cycle.result.problems],
        "structural_problems": [str(p) for p in cycle.result.structural],
        "events": [
            {"kind": e.kind, "key": e.key, "audience": e.audience, "subject": e.subject}
            for e in cycle.events
        ],
        "alerts": {"queued": 0, "sent": 0, "pending": 0, "failed": 0, **cycle.alerts},
        "duration_seconds": round(cycle.duration, 4),
        **({"calendar": _calendar_json(cycle)} if cycle.calendar is not None else {}),
    }


def _calendar_json(cycle: Cycle) -> dict[str, object]:
    """The calendar import's figures: feeds by host only, never their addresses."""
    made = cycle.calendar
    return {
        "bookings_logged": len(made.rows) if made is not None else 0,
        "cells_updated": len(made.updates) if made is not None else 0,
        "not_matched": list(made.unmatched) if made is not None else [],
        "feeds": [
            {
                "feed": f.source.label,
                "ok": f.error is None,
                "bookings": None if f.bookings is None else len(f.bookings),
                "error": f.error,
            }
            for f in cycle.feeds
        ],
    }


def summary(cycle: Cycle) -> str:
    """The plain-text summary of a cycle: what ``creditsheet sync`` prints."""
    data = cycle_json(cycle)
    lines = [f"{cycle.workbook}  (today {cycle.today.isoformat()})"]
    rows = ", ".join(f"{tab} {n}" for tab, n in cycle.rows_read.items()) or "nothing"
    lines.append(f"  rows read:   {rows}")
    packages = ", ".join(f"{n} {s}" for s, n in cycle.packages_by_status().items() if n)
    lines.append(f"  packages:    {packages or 'none'}")
    s = cycle.sessions_by_status()
    lines.append(
        f"  sessions:    {s['Deducted']} deducted, {s['Not deducted']} not deducted, "
        f"{s['Rejected']} rejected, {s['Invalid']} invalid"
    )
    lines.append(f"  problems:    {plural(cycle.rows_with_problems(), 'row')} with problems")
    for problem in cycle.result.problems[:20]:
        lines.append(f"    - {problem}")
    if len(cycle.result.problems) > 20:
        lines.append(f"    ... and {len(cycle.result.problems) - 20} more")
    for problem in cycle.structural:
        lines.append(f"  STRUCTURE:   {problem}")
    verb = "would change" if cycle.dry_run else "changed"
    written = "" if cycle.dry_run or cycle.outcome.written or not cycle.plan else " (not written)"
    lines.append(f"  cells:       {cycle.plan.size} {verb}{written}")
    if cycle.outcome.reason:
        lines.append(f"  not written: {cycle.outcome.reason}")
    alerts = data["alerts"]
    assert isinstance(alerts, dict)
    if cycle.dry_run:
        lines.append(f"  alerts:      {len(cycle.events)} due now (a dry run queues none)")
    else:
        lines.append(
            f"  alerts:      {alerts['queued']} queued, {alerts['sent']} sent, "
            f"{alerts['pending']} pending"
            + (f", {alerts['failed']} failed to send" if alerts["failed"] else "")
        )
    if cycle.calendar is not None or cycle.feeds:
        failed = sum(1 for f in cycle.feeds if f.error is not None)
        lines.append(calendar_summary(cycle.calendar, len(cycle.feeds), failed))
    lines.append(f"  took:        {cycle.duration:.2f} s")
    return "\n".join(lines)


def sync_text(cycle: Cycle) -> str:
    """What ``creditsheet sync`` prints: the summary, and for a dry run each change."""
    if not cycle.dry_run:
        return summary(cycle)
    lines = change_lines(cycle.plan)
    changes = ["", "would change:" if lines else "nothing would change"]
    return "\n".join([summary(cycle), *changes, *(f"  {line}" for line in lines)])


def not_written(cycle: Cycle) -> str | None:
    """Why the workbook was not written and will not be without a fix (None: it was, or
    the next cycle writes it): what ``creditsheet sync`` stops with."""
    if cycle.blocked:
        return "the workbook's structure is broken, so nothing was written: " + "; ".join(
            str(p) for p in cycle.structural
        )
    outcome = cycle.outcome
    if outcome.reason and not outcome.written and not outcome.retry_next_cycle:
        return outcome.reason
    return None


def log_line(cycle: Cycle) -> str:
    """The daemon's one log line for a cycle."""
    data = cycle_json(cycle)
    alerts = data["alerts"]
    assert isinstance(alerts, dict)
    rows = sum(cycle.rows_read.values())
    written = cycle.outcome.cells_written if cycle.outcome.written else 0
    problems = data["rows_with_problems"]
    assert isinstance(problems, int)
    line = (
        f"cycle {'ok' if not cycle.outcome.reason else 'not written'} in "
        f"{cycle.duration:.2f} s: {plural(rows, 'row')} read, {plural(written, 'cell')} written, "
        f"alerts {alerts['queued']} queued {alerts['sent']} sent {alerts['pending']} pending, "
        f"{plural(problems, 'row')} with problems"
    )
    if cycle.outcome.reason:
        line += f"; {cycle.outcome.reason}"
    if cycle.structural:
        line += "; structure: " + "; ".join(str(p) for p in cycle.structural)
    return line


def change_lines(plan: WritePlan) -> list[str]:
    """The plan cell by cell, as ``Packages!K7: 3 -> 2``."""
    lines = []
    for h in plan.headers:
        lines.append(f"{_ref(h.tab, column_letter(h.col), 1)}: (blank) -> {h.name} (new column)")
    for c in plan.cells:
        lines.append(_change_line(c, column_letter(c.col)))
    for a in plan.appends:
        cells = ", ".join(describe(c.value) for c in sorted(a.cells, key=lambda c: c.col))
        lines.append(f"{_ref(a.tab, 'A', a.row)}: new row ({cells})")
    for t in plan.tabs:
        verb = "rewritten" if t.exists else "created"
        lines.append(f"{t.title}: {verb} ({plural(len(t.rows), 'row')}, owned by the sync)")
    return lines


def _ref(tab: str, letter: str, row: int) -> str:
    quoted = f"'{tab}'" if not tab.replace("_", "").isalnum() else tab
    return f"{quoted}!{letter}{row}"


#: The colors the sync paints, by the names a practitioner uses for them.
_COLOR_NAMES = {GREEN: "green", AMBER: "amber", RED: "red", GREY: "grey"}


def _change_line(c: CellChange, letter: str) -> str:
    ref = _ref(c.tab, letter, c.row)
    parts = []
    if c.set_value:
        parts.append(f"{describe(c.old)} -> {describe(c.new)}")
    if c.set_color:
        parts.append(f"color {_COLOR_NAMES.get(c.color or '', c.color or 'none')}")
    suffix = " (filled blank input)" if c.input_fill else ""
    return f"{ref}: {', '.join(parts)}{suffix}"


# --- the cycle history and status ------------------------------------------------


def cycle_outcome(cycle: Cycle) -> tuple[str, str | None]:
    """``ok``, or ``not written`` and why."""
    if cycle.blocked:
        return "not written", "; ".join(str(p) for p in cycle.structural) or "structure broken"
    if cycle.outcome.reason and not cycle.outcome.written:
        return "not written", cycle.outcome.reason
    return "ok", None


def cycle_figures(cycle: Cycle, alerts: AlertCounts | None = None) -> dict[str, Any]:
    data = cycle_json(cycle)
    figures = {
        k: data[k]
        for k in ("rows_read", "cells_changed", "packages", "sessions", "rows_with_problems")
    }
    figures["events"] = len(cycle.events)
    figures["alerts"] = (alerts or AlertCounts()).as_dict()
    return figures


def status_text(config: Config, now: datetime, *, daemon: int | None) -> list[str]:
    """What ``creditsheet status`` prints: the daemon (its pid, when running), then the
    cycles, the mail and the next report from the state store, then the feeds."""
    lines = [f"daemon: running (pid {daemon})" if daemon else "daemon: not running"]
    if not config.state_path.exists():
        return [*lines, f"no cycle has run yet (no state store at {config.state_path})"]
    with Store(config.state_path) as store:
        lines += status_lines(store, config, now, config.sync.timezone)
        calendar = CalendarImport.for_config(config, None, record=False)
        if calendar is not None:
            zone = zone_of(config.sync.timezone, now)
            lines += calendar_status(store.calendar, calendar, zone)
    return lines


def status_lines(
    store: Store, config: Config, now: datetime, tz: tzinfo | str | None, *, cycles: int = 10
) -> list[str]:
    """What ``creditsheet status`` prints: last cycles, pending alerts, next report."""
    zone = zone_of(tz, now)

    def local(moment: datetime) -> str:
        at = moment.astimezone(zone)
        return f"{at:%Y-%m-%d %H:%M:%S %Z}".strip()

    lines = ["last cycles:"]
    records = store.cycles.last(cycles)
    for c in records:
        lines.append(f"  {local(c.started)}  {c.outcome:<11} {c.duration:.2f} s{_figures(c)}")
        if c.reason:
            lines.append(f"      {c.reason}")
    if not records:
        lines.append("  none yet")
    pending = store.outbox.pending()
    if pending:
        lines.append(f"alerts pending delivery: {len(pending)}")
        asked = store.outbox.retry_requested()
        for m in pending[:20]:
            lines.append(f"  {m.subject} -> {', '.join(m.recipients)} ({_next_try(m, now, local)})")
            if m.last_error:
                lines.append(f"      last error: {m.last_error}")
        if len(pending) > 20:
            lines.append(f"  ... and {len(pending) - 20} more")
        if asked:
            lines.append(
                f"  a test email went through at {local(asked)}: the daemon's next cycle "
                "tries these at once"
            )
        lines.append("  `creditsheet sync` tries them all now, whatever the next try says")
    else:
        lines.append("alerts pending delivery: none")
    due = next_report_due(store.reports, config.report, zone, now)
    if due is None:
        lines.append('next report: none ([report] every = "off")')
    elif due <= now:
        lines.append(f"next report: due now (was due {local(due)})")
    else:
        lines.append(f"next report: {local(due)}")
    return lines


def _next_try(m: QueuedMessage, now: datetime, local: Callable[[datetime], str]) -> str:
    """``next try 2026-11-22 09:04:00 GMT, 2 tries``, or that it is being sent now."""
    if m.claimed_until is not None and m.claimed_until > now:
        when = "being sent now"
    elif m.next_attempt <= now:
        when = "due now: the next cycle sends it"
    else:
        when = f"next try {local(m.next_attempt)}"
    return when + (f", {plural(m.attempts, 'try', 'tries')} so far" if m.attempts else "")


def _figures(c: CycleRecord) -> str:
    f: Mapping[str, Any] = c.figures
    parts = []
    if "cells_changed" in f:
        parts.append(f"{plural(int(f['cells_changed']), 'cell')} changed")
    alerts = f.get("alerts")
    if isinstance(alerts, Mapping) and (alerts.get("queued") or alerts.get("sent")):
        parts.append(
            f"{plural(int(alerts.get('queued', 0)), 'alert')} queued, {alerts.get('sent', 0)} sent"
        )
    return ("  " + ", ".join(parts)) if parts else ""
