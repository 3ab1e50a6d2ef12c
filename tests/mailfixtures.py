"""Shared pieces for the mail tests: a small practice, configs, a real SMTP server.

The practice has one event of every kind on TODAY; the SMTP server is aiosmtpd
on 127.0.0.1 with an ephemeral port, with optional TLS (a self-signed
certificate made here with ``cryptography``) and login.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rules.engine import compute
from rules.model import Result, Table
from sync.config import Config, parse

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
EVIL = "<b>Ann</b>"

CLIENTS = [
    [EVIL, "ann@example.com"],
    ["Bob", "bob@example.com"],
    ["Cara", "cara@example.com"],
    ["Dan", "dan@example.com"],
    ["Eve", ""],
]
PACKAGES: list[list[object]] = [
    # expiring soon (5 days) with 3 left
    ["P-0001", EVIL, "5-Session Pack", 5, 250, "2026-10-01", "2026-11-27"],
    # expired with 3 unused
    ["P-0002", "Bob", "5-Session Pack", 5, 200, "2026-09-01", "2026-11-01"],
    # low: 1 of 5 left
    ["P-0003", "Cara", "5-Session Pack", 5, 200, "2026-10-01", None],
    # exhausted, and one more session rejected
    ["P-0004", "Dan", "Duo", 2, 90, "2026-10-01", None],
    ["P-0005", "Eve", "Trio", 3, 120, "2026-10-01", None],
]
SESSIONS: list[list[object]] = [
    ["2026-11-15", EVIL, "P-0001"],
    ["2026-11-20", EVIL, "P-0001"],
    ["2026-10-10", "Bob", "P-0002"],
    ["2026-10-12", "Bob", "P-0002"],
    ["2026-11-10", "Cara", "P-0003"],
    ["2026-11-11", "Cara", "P-0003"],
    ["2026-11-12", "Cara", "P-0003"],
    ["2026-11-13", "Cara", "P-0003"],
    ["2026-11-14", "Dan", "P-0004"],
    ["2026-11-15", "Dan", "P-0004"],
    ["2026-11-16", "Dan", "P-0004"],
    ["2026-11-21", "Jon", None],
]


def tables(
    packages: Sequence[Sequence[object]] = PACKAGES,
    sessions: Sequence[Sequence[object]] = SESSIONS,
    clients: Sequence[Sequence[object]] = CLIENTS,
) -> dict[str, Table]:
    return {
        "Clients": Table("Clients", ["Client", "Email"], clients),
        "Packages": Table(
            "Packages",
            ["Package ID", "Client", "Package", "Sessions", "Price", "Purchased", "Expires"],
            packages,
        ),
        "Sessions": Table("Sessions", ["Date", "Client", "Package ID"], sessions),
    }


def practice(today: dt.date = TODAY, *, client_notices: bool = True, **changes: Any) -> Result:
    """The practice's result on ``today``: every event kind happens at TODAY."""
    return compute(tables(**changes), today=today, client_notices=client_notices)


def config(tmp_path: Path, *, clients: bool = True, **email: Any) -> Config:
    raw: dict[str, Any] = {
        "email": {"to": ["me@example.com"], "sender": "creditsheet <cs@example.com>", **email},
        "notify": {"clients": clients},
        "rules": {"currency": "GBP"},
        "sync": {"timezone": "Europe/London"},
    }
    return parse(raw, tmp_path / "config.toml")


def parse_eml(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return str(text.get_content()), str(html.get_content())


# --- HTML -----------------------------------------------------------------------------

VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "wbr"})


class StrictHTML(HTMLParser):
    """Parses HTML, checking every tag closes in order; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag in ("title", "style", "script"):
            self._skip += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("title", "style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees, whitespace collapsed; asserts the HTML is well formed."""
    parser = StrictHTML()
    parser.feed(html)
    parser.close()
    assert not parser.stack, f"unclosed tags: {parser.stack}"
    assert "script" not in parser.tags and "img" not in parser.tags
    return " ".join(" ".join(parser.text).split())


def flat(text: str) -> str:
    return " ".join(text.split())


# --- a real SMTP server on loopback ----------------------------------------------------


class Recorder:
    """An aiosmtpd handler that keeps what it received; it can refuse a few DATA first."""

    def __init__(self, refuse: int = 0, reply: str = "451 4.3.0 Try again later") -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse
        self.reply = reply
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return self.reply
            self.messages.append(parse_eml(envelope.original_content or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


class Authenticator:
    """Accepts one user and password; remembers every login tried."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.tried: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.tried.append(mechanism)
        ok = auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)


class _Controller(Controller):
    """aiosmtpd's Controller, on the port given or an ephemeral one (``port=0``)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(handler: Recorder, port: int = 0, **smtp: Any) -> Iterator[_Controller]:
    controller = _Controller(handler, hostname="127.0.0.1", port=port, **smtp)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def answering(reply: bytes, port: int = 0) -> Iterator[int]:
    """A server that greets every connection with ``reply`` and hangs up (e.g. 421)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def client_tls(cert: Path) -> ssl.SSLContext:
    """A client context that trusts the test certificate (and verifies it)."""
    return ssl.create_default_context(cafile=str(cert))
