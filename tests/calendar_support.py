"""Calendar feeds for tests: iCalendar text shaped as booking tools write it, and a
real HTTP server on loopback that serves them (ETag / Last-Modified, 304, redirects,
failures on demand)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "calendars"


def vevent(
    uid: str,
    start: str,
    summary: str,
    *,
    end: str | None = None,
    tzid: str | None = "Europe/London",
    attendees: Sequence[str] = (),
    status: str | None = None,
    transp: str | None = None,
    extra: Sequence[str] = (),
) -> str:
    """One VEVENT; ``start`` like ``20261208T100000`` (local to ``tzid``; ``Z`` for UTC)."""
    when = f";TZID={tzid}" if tzid and not start.endswith("Z") else ""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261201T090000Z",
        f"DTSTART{when}:{start}",
        f"DTEND{when}:{end or start[:9] + '23' + start[11:]}",
        f"SUMMARY:{summary}",
    ]
    lines += [f"ATTENDEE;CN=Guest;ROLE=REQ-PARTICIPANT:mailto:{a}" for a in attendees]
    if status:
        lines.append(f"STATUS:{status}")
    if transp:
        lines.append(f"TRANSP:{transp}")
    lines += list(extra)
    lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"


def calendar(*events: str, prodid: str = "-//creditsheet tests//EN") -> bytes:
    head = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{prodid}\r\nCALSCALE:GREGORIAN\r\n"
    return (head + "".join(events) + "END:VCALENDAR\r\n").encode()


def sessions_for(name: str, days: Sequence[int], month: str = "202612") -> list[str]:
    return [
        vevent(
            f"booking-{name.split()[0].lower()}-{d}@cal.example",
            f"{month}{d:02d}T100000",
            f"Massage - {name}",
        )
        for d in days
    ]


@dataclass
class Served:
    body: bytes
    etag: str | None = '"v1"'
    last_modified: str | None = "Tue, 01 Dec 2026 09:00:00 GMT"
    status: int = 200


@dataclass
class FeedServer:
    """``paths`` maps a path to what it serves; ``redirects`` maps a path to another."""

    paths: dict[str, Served] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    url: str = ""

    def serve(self, path: str, body: bytes, *, etag: str | None = '"v1"') -> str:
        self.paths[path] = Served(body, etag)
        return self.url + path


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path
            headers = {k: v for k, v in self.headers.items()}
            if path in state.redirects:
                state.log.append((path, headers, 302))
                self.send_response(302)
                self.send_header("Location", state.url + state.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            served = state.paths.get(path)
            if served is None:
                code, body = 404, b"not found"
            elif served.status != 200:
                code, body = served.status, b"error"
            elif served.etag and self.headers.get("If-None-Match") == served.etag:
                state.log.append((path, headers, 304))
                self.send_response(304)
                self.end_headers()
                return
            else:
                code, body = 200, served.body
            state.log.append((path, headers, code))
            self.send_response(code)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            if served is not None and code == 200:
                if served.etag:
                    self.send_header("ETag", served.etag)
                if served.last_modified:
                    self.send_header("Last-Modified", served.last_modified)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)
