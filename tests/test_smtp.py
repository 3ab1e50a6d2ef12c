"""SmtpSender against a real SMTP server (aiosmtpd) on loopback: TLS, login, outages."""

from __future__ import annotations

import base64
import logging
import os
import random
import traceback
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier.messages import build
from notifier.render import Rendered
from notifier.send import SendError
from notifier.smtp import SmtpSender
from rules.engine import compute
from sync.alerts import deliver
from sync.config import Config
from sync.store import Store
from tests.mailfixtures import (
    NOW,
    SESSIONS,
    TODAY,
    Authenticator,
    Recorder,
    answering,
    client_tls,
    config,
    free_port,
    parts,
    practice,
    self_signed,
    server_tls,
    silent_port,
    smtp_server,
    tables,
)

SECRET = "s3cret-Pa55word!"
ENV = "CREDITSHEET_TEST_SMTP_PASSWORD"
RESULT = practice()
NOTICES = sum(1 for e in RESULT.events if e.audience != "practitioner")


def sender_for(
    tmp_path: Path, port: int, password: str | None = None, **email: object
) -> tuple[Config, SmtpSender]:
    cfg = config(tmp_path, backend="smtp", host="127.0.0.1", port=port, **email)
    return cfg, SmtpSender(cfg.email, password, local_hostname="localhost")


def message(n: int = 0) -> EmailMessage:
    return build(
        Rendered(f"hello {n}", "plain words £5", "<p>html words £5</p>"),
        dedupe_key=f"test:{n}",
        sender="creditsheet <cs@example.com>",
        to=["me@example.com"],
        now=NOW,
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def leaks(text: str) -> bool:
    encoded = [base64.b64encode(x.encode()).decode() for x in (SECRET, f"\0me\0{SECRET}")]
    return any(secret in text for secret in (SECRET, *encoded))


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line except the test server's own (aiosmtpd logs as ``mail.log``)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail"))


def full_text(err: BaseException) -> str:
    return "".join(traceback.format_exception(err))


# --- delivery -----------------------------------------------------------------------


def test_plain_smtp_delivers_every_alert_once(tmp_path: Path) -> None:
    handler = Recorder()
    with smtp_server(handler) as server, Store(tmp_path / "s.sqlite") as store:
        cfg, sender = sender_for(tmp_path, server.port, security="none")
        counts = deliver(RESULT, store, sender, cfg, NOW, rng=random.Random(1))
        assert counts.sent == 1 + NOTICES and counts.pending == 0
        assert deliver(RESULT, store, sender, cfg, NOW + timedelta(minutes=1)).sent == 0
        sent_ids = sorted(m.message_id for m in store.outbox.sent())
    assert sorted(handler.message_ids()) == sent_ids and len(sent_ids) == 1 + NOTICES
    alert_emails = [m for m in handler.messages if m["To"] == "me@example.com"]
    assert len(alert_emails) == 1
    text, html = parts(alert_emails[0])
    assert "Running low" in text and "Running low" in html
    assert ("cs@example.com", ["me@example.com"]) in handler.envelopes


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_with_login_from_the_environment(
    tmp_path: Path,
    certs: tuple[Path, Path],
    mechanism: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(ENV, SECRET)
    cert, key = certs
    handler, auth = Recorder(), Authenticator("me", SECRET)
    other = {"LOGIN", "PLAIN"} - {mechanism}
    caplog.set_level(logging.DEBUG)
    with smtp_server(
        handler,
        tls_context=server_tls(cert, key),
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
        auth_exclude_mechanism=other,
    ) as server:
        cfg = config(
            tmp_path,
            backend="smtp",
            host="127.0.0.1",
            port=server.port,
            security="starttls",
            username="me",
            password_env=ENV,
        )
        password = os.environ[cfg.email.password_env or ""]  # as the CLI does
        sender = SmtpSender(
            cfg.email, password, ssl_context=client_tls(cert), local_hostname="localhost"
        )
        sender.send(message())
    assert auth.tried == [mechanism]
    assert [m["Subject"] for m in handler.messages] == ["hello 0"]
    assert not leaks(our_logs(caplog)) and not leaks(repr(sender))


def test_wrong_password_is_reported_without_the_password(
    tmp_path: Path, certs: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    cert, key = certs
    handler = Recorder()
    caplog.set_level(logging.DEBUG)
    with (
        smtp_server(
            handler,
            tls_context=server_tls(cert, key),
            authenticator=Authenticator("me", "right"),
            auth_required=True,
        ) as server,
        Store(tmp_path / "s.sqlite") as store,
    ):
        cfg = config(
            tmp_path,
            backend="smtp",
            host="127.0.0.1",
            port=server.port,
            username="me",
            password_env=ENV,
            clients=False,
        )
        sender = SmtpSender(
            cfg.email, SECRET, ssl_context=client_tls(cert), local_hostname="localhost"
        )
        with pytest.raises(SendError) as err:
            sender.send(message())
        counts = deliver(RESULT, store, sender, cfg, NOW, rng=random.Random(1))
        [pending] = store.outbox.pending()
    text = str(err.value)
    assert text.startswith(f"127.0.0.1:{server.port} refused the login for 'me' (535)")
    assert ENV in text and text.endswith("the message stays queued and is retried")
    assert counts.failed == 1 and counts.pending == 1 and handler.messages == []
    assert pending.last_error == text
    assert not leaks(full_text(err.value)) and not leaks(pending.last_error or "")
    assert not leaks(our_logs(caplog))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_over_plain_smtp_when_the_server_allows_it(tmp_path: Path) -> None:
    handler, auth = Recorder(), Authenticator("me", SECRET)
    with smtp_server(
        handler, authenticator=auth, auth_required=True, auth_require_tls=False
    ) as server:
        _, sender = sender_for(
            tmp_path, server.port, SECRET, security="none", username="me", password_env=ENV
        )
        sender.send(message())
    assert len(handler.messages) == 1 and auth.tried


def test_no_login_offered_without_tls(tmp_path: Path) -> None:
    with smtp_server(Recorder(), authenticator=Authenticator("me", SECRET)) as server:
        _, sender = sender_for(
            tmp_path, server.port, SECRET, security="none", username="me", password_env=ENV
        )
        with pytest.raises(SendError, match=r'does not offer a login .* security = "starttls"'):
            sender.send(message())


def test_password_env_not_set(tmp_path: Path) -> None:
    with smtp_server(Recorder()) as server:
        _, sender = sender_for(
            tmp_path, server.port, None, security="none", username="me", password_env=ENV
        )
        with pytest.raises(SendError, match=f"the environment variable {ENV} is not set"):
            sender.send(message())


def test_implicit_ssl(tmp_path: Path, certs: tuple[Path, Path]) -> None:
    cert, key = certs
    handler = Recorder()
    with smtp_server(handler, ssl_context=server_tls(cert, key)) as server:
        cfg = config(tmp_path, backend="smtp", host="127.0.0.1", port=server.port, security="ssl")
        SmtpSender(cfg.email, None, ssl_context=client_tls(cert), local_hostname="localhost").send(
            message()
        )
        untrusted = SmtpSender(cfg.email, None, local_hostname="localhost")
        with pytest.raises(SendError, match="certificate was not accepted") as err:
            untrusted.send(message())
    assert len(handler.messages) == 1
    assert err.value.unreachable


def test_starttls_asked_for_but_not_offered(tmp_path: Path) -> None:
    with smtp_server(Recorder()) as server:
        _, sender = sender_for(tmp_path, server.port, security="starttls")
        with pytest.raises(SendError, match="does not offer STARTTLS"):
            sender.send(message())


def test_default_ports() -> None:
    for security, port in (("starttls", 587), ("ssl", 465), ("none", 25)):
        cfg = config(Path("."), backend="smtp", host="smtp.example.com", security=security)
        assert SmtpSender(cfg.email, None).via == f"smtp.example.com:{port}"


# --- failures a practitioner can act on ---------------------------------------------


def test_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    _, sender = sender_for(tmp_path, port, security="starttls")
    with pytest.raises(SendError) as err:
        sender.send(message())
    assert str(err.value) == (
        f"could not reach 127.0.0.1:{port}: connection refused; "
        "the message stays queued and is retried"
    )
    assert err.value.unreachable


def test_no_answer_times_out(tmp_path: Path) -> None:
    with silent_port() as port:
        _, sender = sender_for(tmp_path, port, security="none", timeout_seconds=0.3)
        with pytest.raises(SendError, match=r"no answer within 0.3 s; the message stays queued"):
            sender.send(message())


def test_service_not_available(tmp_path: Path) -> None:
    with answering(b"421 4.3.2 Service not available\r\n") as port:
        _, sender = sender_for(tmp_path, port, security="none")
        with pytest.raises(
            SendError, match=r"it answered 421 4\.3\.2 Service not available"
        ) as err:
            sender.send(message())
    assert err.value.unreachable


# --- an outage over several cycles ---------------------------------------------------


@pytest.fixture
def rng() -> Iterator[random.Random]:
    yield random.Random(3)


def test_smtp_down_for_several_cycles_then_up_delivers_each_once(
    tmp_path: Path, rng: random.Random
) -> None:
    port = free_port()
    cfg, sender = sender_for(tmp_path, port, security="none")
    busier = compute(
        tables(sessions=[*SESSIONS, ["2026-11-22", "Cara", "P-0003"]]),
        today=TODAY,
        client_notices=True,
    )
    queued = 0
    with Store(tmp_path / "s.sqlite") as store:
        # 1: nothing listens
        c = deliver(RESULT, store, sender, cfg, NOW, rng=rng)
        queued += c.queued
        assert (c.sent, c.failed, c.pending) == (0, 1, queued)
        # 2: the server says 421 to everyone; a new alert joins the queue
        with answering(b"421 4.3.2 Try again later\r\n", port):
            c = deliver(busier, store, sender, cfg, NOW + timedelta(hours=2), rng=rng)
        queued += c.queued
        assert c.queued >= 1 and (c.sent, c.failed, c.pending) == (0, 1, queued)
        # 3: the server is up but refuses the first two messages with 451
        handler = Recorder(refuse=2)
        with smtp_server(handler, port=port):
            c = deliver(busier, store, sender, cfg, NOW + timedelta(hours=4), rng=rng)
            assert (c.queued, c.failed, c.sent, c.pending) == (0, 2, queued - 2, 2)
            assert all("451" in (m.last_error or "") for m in store.outbox.pending())
            # 4: all is well
            c = deliver(busier, store, sender, cfg, NOW + timedelta(hours=6), rng=rng)
            assert (c.sent, c.pending) == (2, 0)
            # 5: nothing more to send
            assert deliver(busier, store, sender, cfg, NOW + timedelta(hours=8)).sent == 0
        ids = handler.message_ids()
        assert len(ids) == queued == len(set(ids))
        assert sorted(ids) == sorted(m.message_id for m in store.outbox.sent())
