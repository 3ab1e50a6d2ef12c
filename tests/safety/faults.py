"""``creditsheet`` as a subprocess with a test clock, a phase trace and SIGKILL fault points.

    python -m tests.safety.faults run --config PATH --log-format json

The product knows nothing about this: the points are put in here, by wrapping
the functions each phase runs, before the command line starts. Every wrapped
name is looked up when this starts, so a rename in the product fails the
safety tests loudly instead of silently skipping a point.

Environment:

- ``SAFETY_NOW``: the ISO time the clock starts at; it then runs at real speed.
  "Today" is its date, and a restart started 11 minutes later is past the
  10-minute send lease of a message a killed process had claimed.
- ``SAFETY_TRACE``: a file that gets one line per phase entered (``read``,
  ``sending <Message-ID>``, ...), each written straight to the file, so a
  SIGKILL loses none: the last line says where a kill landed. Each line
  starts with the monotonic clock.
- ``SAFETY_CRASH``: ``point:n``, SIGKILL this process the n-th time it
  reaches ``point`` (one of :data:`POINTS`).
- ``SAFETY_SLOW_SAVE``: seconds to pause before each part of a workbook save,
  so that a kill at a random moment lands inside the save.
"""

from __future__ import annotations

import os
import signal
import smtplib
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

#: Where each point kills the process (``point:n``: the n-th time it is reached).
POINTS: dict[str, str] = {
    "read": "while reading the workbook, after its n-th tab is parsed",
    "compute": "in the middle of the compute (deductions done, statuses and events not)",
    "save": "while the temporary file is written, before its n-th part",
    "rename": "the temporary file is complete, before it is renamed over the workbook",
    "renamed": "right after the rename (the sheet is written; no alert recorded yet)",
    "record": "inside the transaction that records events and queues emails, "
    "after the n-th email is queued (before the commit)",
    "queued": "the emails are queued (committed), before the n-th is claimed",
    "claimed": "the n-th email is claimed, before it is handed to the SMTP server",
    "sent": "the SMTP server accepted the n-th email, before it is marked sent",
}

ENV_NOW, ENV_TRACE, ENV_CRASH, ENV_SLOW = (
    "SAFETY_NOW",
    "SAFETY_TRACE",
    "SAFETY_CRASH",
    "SAFETY_SLOW_SAVE",
)

_counts: Counter[str] = Counter()
_crash: tuple[str, int] | None = None
_trace_fd: int | None = None
_slow = 0.0


def trace(line: str) -> None:
    """One line in the trace file, written at once (a SIGKILL loses nothing written).

    Each line starts with the monotonic clock, so windows can be measured.
    """
    if _trace_fd is not None:
        os.write(_trace_fd, f"{time.monotonic():.6f} {line}\n".encode())


def lines(path: Path) -> list[str]:
    """A trace file's lines without their times."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [line.split(" ", 1)[1] for line in text.splitlines() if " " in line]


def timed(path: Path) -> list[tuple[float, str]]:
    """A trace file's lines with their times."""
    out = []
    for line in path.read_text().splitlines():
        at, _, rest = line.partition(" ")
        out.append((float(at), rest))
    return out


def reach(point: str, detail: str = "") -> None:
    """Count a pass through ``point``; die here if this is the pass SAFETY_CRASH names."""
    _counts[point] += 1
    if _crash is not None and _crash == (point, _counts[point]):
        trace(f"kill {point}:{_counts[point]} {detail}".rstrip())
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(owner, name)  # AttributeError: the product moved; fix this file
    setattr(owner, name, make(original))


def install() -> None:
    """Put the clock, the trace and the fault points in place."""
    global _crash, _trace_fd, _slow
    import rules.engine
    import sync.alerts
    import sync.backends.xlsx as xlsx
    import sync.backends.xlsx.package as xlsx_package
    import sync.bootstrap
    import sync.cli
    import sync.cycle
    import sync.daemon
    import sync.service
    import sync.store.outbox
    from notifier.smtp import SmtpSender

    if os.environ.get(ENV_TRACE):
        _trace_fd = os.open(os.environ[ENV_TRACE], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if os.environ.get(ENV_CRASH):
        point, _, n = os.environ[ENV_CRASH].partition(":")
        if point not in POINTS:
            raise SystemExit(f"{ENV_CRASH}: unknown point {point!r}")
        _crash = (point, int(n or 1))
    _slow = float(os.environ.get(ENV_SLOW) or 0)
    trace(f"start {os.getpid()}")

    if os.environ.get(ENV_NOW):
        base, started = datetime.fromisoformat(os.environ[ENV_NOW]), time.monotonic()

        def clock() -> datetime:
            return base + timedelta(seconds=time.monotonic() - started)

        sync.bootstrap.now = clock

        class ClockedDaemon(sync.daemon.Daemon):
            def __init__(self, config_path: Path, **kwargs: Any) -> None:
                kwargs.setdefault("now", clock)
                super().__init__(config_path, **kwargs)

        setattr(sync.cli, "Daemon", ClockedDaemon)  # noqa: B010 (a module the CLI looks up)

    def cycle(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            trace("cycle")
            report = original(*args, **kwargs)
            trace("idle")
            return report

        return wrapped

    _wrap(sync.daemon, "sync_once", cycle)
    _wrap(sync.service, "sync_once", cycle)  # as `creditsheet sync` calls it

    # -- read and compute --
    def read(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any) -> Any:
            trace("read")
            return original(self)

        return wrapped

    def table(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(title: str, sheet: Any) -> Any:
            made = original(title, sheet)
            reach("read", title)
            return made

        return wrapped

    def parse(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            trace("compute")
            return original(*args, **kwargs)

        return wrapped

    def deduct(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            ledger = original(*args, **kwargs)
            reach("compute")
            return ledger

        return wrapped

    _wrap(xlsx.XlsxBackend, "read", read)
    _wrap(xlsx, "_table", table)
    _wrap(sync.cycle, "parse", parse)
    _wrap(rules.engine, "deduct", deduct)

    # -- the write: the temporary file part by part, then the rename --
    def write(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, snapshot: Any, plan: Any) -> Any:
            trace("write")
            outcome = original(self, snapshot, plan)
            trace("written" if outcome.written else "not written")
            return outcome

        return wrapped

    def part(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _slow:
                time.sleep(_slow)
            reach("save", str(args[1] if len(args) > 1 else args[0])[:60])
            trace(f"save {_counts['save']}")
            return original(self, *args, **kwargs)

        return wrapped

    _wrap(xlsx.XlsxBackend, "write", write)
    _wrap(zipfile.ZipFile, "writestr", part)
    _wrap(zipfile.ZipFile, "write", part)
    # A part the write leaves as it was is copied packed, and a large worksheet it
    # changed is packed as it was made: neither goes through writestr.
    _wrap(xlsx_package.Package, "_copy_raw", part)
    _wrap(xlsx_package.Package, "_write_packed", part)
    setattr(xlsx, "os", _RenameWatch())  # noqa: B010 (the backend's own view of os)

    # -- alerts: record + queue in one transaction, then claim, send, mark sent --
    def queue_alerts(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            trace("queue")
            queued = original(*args, **kwargs)
            trace("queued")
            return queued

        return wrapped

    def queue(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, dedupe_key: str, message: Any, now: datetime) -> Any:
            added = original(self, dedupe_key, message, now)
            reach("record", str(message["Message-ID"]))
            return added

        return wrapped

    def claim(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, message_id: int, *args: Any, **kwargs: Any) -> Any:
            reach("queued", str(message_id))
            return original(self, message_id, *args, **kwargs)

        return wrapped

    def send(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, message: Any) -> None:
            ident = str(message["Message-ID"])
            reach("claimed", ident)
            trace(f"sending {ident}")
            original(self, message)
            trace(f"sent {ident}")

        return wrapped

    def mark_sent(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, message_id: int, now: datetime) -> None:
            reach("sent", str(message_id))
            original(self, message_id, now)
            trace("marked")

        return wrapped

    def send_message(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
            refused = original(self, message, *args, **kwargs)
            trace(f"accepted {message['Message-ID']}")  # the server said 250 to the DATA
            return refused

        return wrapped

    _wrap(sync.alerts, "queue_alerts", queue_alerts)
    _wrap(smtplib.SMTP, "send_message", send_message)
    _wrap(sync.store.outbox.Outbox, "queue", queue)
    _wrap(sync.store.outbox.Outbox, "claim", claim)
    _wrap(SmtpSender, "send", send)
    _wrap(sync.store.outbox.Outbox, "mark_sent", mark_sent)


class _RenameWatch:
    """``os`` as the xlsx backend sees it, with the rename of the saved file watched."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def replace(src: Any, dst: Any) -> None:
        reach("rename")
        trace("rename")
        os.replace(src, dst)
        trace("renamed")
        reach("renamed")


def main() -> None:
    install()
    from sync.cli import main as cli_main

    sys.argv[0] = "creditsheet"
    cli_main()


if __name__ == "__main__":
    main()
