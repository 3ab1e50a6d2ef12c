"""The mail-sending side effect: one small protocol, and a fake for tests.

A sender takes a finished :class:`email.message.EmailMessage` and delivers it,
or raises :class:`SendError` with a message the practitioner can act on (and
never a password). Real senders: :class:`notifier.outbox.FileSender` and
:class:`notifier.smtp.SmtpSender`.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from sync.errors import CreditsheetError


class SendError(CreditsheetError):
    """A message could not be sent; it stays queued and is retried.

    ``unreachable``: the server cannot take any message right now (connection
    refused, login refused, 421), so the rest of the queue waits too instead
    of each trying and timing out in turn. ``permanent``: the server refused
    this message for good (a 5xx reply); it is still retried, but slowly.
    """

    def __init__(self, message: str, *, unreachable: bool = False, permanent: bool = False):
        super().__init__(message)
        self.unreachable = unreachable
        self.permanent = permanent


class Sender(Protocol):
    #: Where messages go, for logs and ``status``: ``smtp.example.com:587``.
    where: str

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its To addresses, or raise :class:`SendError`."""
        ...


class RecordingSender:
    """A fake that records what it "sent"; it can be told to fail.

    ``fail_times``: how many of the next calls raise ``error`` before sending
    works again (``-1``: fail until changed).
    """

    where = "recording sender"

    def __init__(self, *, fail_times: int = 0, error: SendError | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.attempts = 0
        self.fail_times = fail_times
        self.error = error or SendError(
            "could not reach the fake server: connection refused", unreachable=True
        )

    def send(self, message: EmailMessage) -> None:
        self.attempts += 1
        if self.fail_times:
            if self.fail_times > 0:
                self.fail_times -= 1
            raise self.error
        self.sent.append(message)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.sent]

    def to(self) -> list[str]:
        return [str(m["To"]) for m in self.sent]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.sent]
