"""The SMTP email backend: smtplib with STARTTLS, SSL or no encryption.

The password is handed in by the caller (read from the environment variable
``[email] password_env`` names); it is never logged, never put in an
exception's text, and any echo of it in a server's reply is blanked out.
Every failure becomes a :class:`~notifier.send.SendError` that says what to
check, e.g. ``could not reach smtp.example.com:587: connection refused; the
message stays queued and is retried``.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage

from notifier.format import one_line, plural
from notifier.messages import envelope_sender, recipients
from notifier.send import SendError
from sync.config import EmailConfig

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
RETRIED = "the message stays queued and is retried"


class SmtpSender:
    """Sends each message over its own short SMTP connection."""

    def __init__(
        self,
        config: EmailConfig,
        password: str | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.host = config.host or "localhost"
        self.port = config.port or DEFAULT_PORTS[config.security]
        self.security = config.security
        self.username = config.username
        self.password_env = config.password_env
        self.timeout = config.timeout_seconds
        self.via = f"{self.host}:{self.port}"
        self._password = password
        self._context = ssl_context
        self._local_hostname = local_hostname

    def __repr__(self) -> str:
        return f"SmtpSender({self.via}, security={self.security}, user={self.username!r})"

    def send(self, message: EmailMessage) -> None:
        to = recipients(message)
        if not to:
            raise SendError("the message has no recipients (To is empty)", permanent=True)
        try:
            smtp = self._connect()
            try:
                self._login(smtp)
                refused = smtp.send_message(message, envelope_sender(message), to)
            finally:
                _close(smtp)
        except SendError as err:
            raise SendError(
                self._redact(str(err)), unreachable=err.unreachable, permanent=err.permanent
            ) from None
        except Exception as err:  # smtplib, ssl and socket errors alike
            raise self._explain(err) from None
        for address, (code, reply) in refused.items():
            log.warning(
                "%s refused %s (%s %s); the others received the message",
                self.via,
                address,
                code,
                self._redact(_text(reply)),
            )
        log.info(
            "sent %s to %s via %s",
            message.get("Message-ID"),
            plural(len(to), "recipient"),
            self.via,
        )

    def _ssl(self) -> ssl.SSLContext:
        return self._context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self._local_hostname,
                timeout=self.timeout,
                context=self._ssl(),
            )
        smtp = smtplib.SMTP(
            self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
        )
        if self.security == "starttls":
            try:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise SendError(
                        f"{self.via} does not offer STARTTLS; set [email] security = "
                        '"ssl" (usually port 465) or "none"; ' + RETRIED,
                        unreachable=True,
                    )
                smtp.starttls(context=self._ssl())
                smtp.ehlo()
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not self.username:
            return
        if self._password is None:
            where = (
                f"the environment variable {self.password_env} is not set"
                if self.password_env
                else "[email] password_env does not name the environment variable that holds it"
            )
            raise SendError(
                f"no password for {self.username} on {self.via}: {where}; " + RETRIED,
                unreachable=True,
            )
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("auth"):
            hint = (
                'set [email] security = "starttls" or "ssl": servers offer login only over TLS'
                if self.security == "none"
                else "check [email] host and port"
            )
            raise SendError(
                f"{self.via} does not offer a login (no SMTP AUTH); {hint}; " + RETRIED,
                unreachable=True,
            )
        smtp.login(self.username, self._password)

    def _explain(self, err: BaseException) -> SendError:
        where = self.via
        if isinstance(err, smtplib.SMTPAuthenticationError):
            env = f" in the environment variable {self.password_env}" if self.password_env else ""
            return SendError(
                f"{where} refused the login for '{self.username}' ({err.smtp_code}); check "
                f"[email] username and the password{env}; " + RETRIED,
                unreachable=True,
            )
        if isinstance(err, smtplib.SMTPRecipientsRefused):
            listed = ", ".join(
                f"{addr} ({code} {_text(reply)})" for addr, (code, reply) in err.recipients.items()
            )
            permanent = all(code >= 500 for code, _ in err.recipients.values())
            return self._said(f"{where} refused the recipient {listed}", permanent=permanent)
        if isinstance(err, smtplib.SMTPSenderRefused):
            return self._said(
                f"{where} refused the sender address {err.sender} ({err.smtp_code} "
                f"{_text(err.smtp_error)}); check [email] sender",
                permanent=err.smtp_code >= 500,
            )
        if isinstance(err, smtplib.SMTPResponseException):
            code, reply = err.smtp_code, _text(err.smtp_error)
            if isinstance(err, smtplib.SMTPConnectError) or code == 421:
                return self._said(
                    f"could not send through {where}: it answered {code} {reply}", unreachable=True
                )
            return self._said(
                f"{where} refused the message ({code} {reply})", permanent=code >= 500
            )
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return self._said(f"{where}: {err}", unreachable=True)
        if isinstance(err, smtplib.SMTPServerDisconnected):
            if "timed out" in str(err):  # smtplib turns a read timeout into this
                return self._said(
                    f"could not reach {where}: no answer within {self.timeout:g} s",
                    unreachable=True,
                )
            return self._said(
                f"could not reach {where}: the server closed the connection", unreachable=True
            )
        if isinstance(err, ssl.SSLCertVerificationError):
            return self._said(
                f"could not make a secure connection to {where}: the server's certificate "
                f"was not accepted ({err.verify_message}); check [email] host",
                unreachable=True,
            )
        if isinstance(err, ssl.SSLError):
            return self._said(
                f"could not make a secure connection to {where} ({err.reason or err}); check "
                '[email] security: port 465 usually wants "ssl", port 587 "starttls"',
                unreachable=True,
            )
        if isinstance(err, TimeoutError):
            return self._said(
                f"could not reach {where}: no answer within {self.timeout:g} s", unreachable=True
            )
        if isinstance(err, socket.gaierror):
            return self._said(
                f"could not reach {where}: the host name was not found; check [email] host",
                unreachable=True,
            )
        if isinstance(err, ConnectionRefusedError):
            return self._said(f"could not reach {where}: connection refused", unreachable=True)
        if isinstance(err, OSError):
            reason = err.strerror or str(err) or type(err).__name__
            return self._said(f"could not reach {where}: {reason}", unreachable=True)
        return self._said(f"could not send through {where}: {type(err).__name__}: {err}")

    def _said(self, text: str, *, unreachable: bool = False, permanent: bool = False) -> SendError:
        return SendError(
            self._redact(one_line(text, 400)) + "; " + RETRIED,
            unreachable=unreachable,
            permanent=permanent,
        )

    def _redact(self, text: str) -> str:
        """Blank out the password and its encodings, should a server echo them."""
        if not self._password:
            return text
        secrets = {self._password}
        user = self.username or ""
        for raw in (self._password, f"\0{user}\0{self._password}", f"{user}\0{self._password}"):
            secrets.add(base64.b64encode(raw.encode()).decode())
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a failure to say goodbye is not a failure to send."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
