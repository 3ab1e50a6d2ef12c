"""The mail-sending side effect: one small protocol.

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
    #: How messages go out, for logs and ``status``: ``smtp.example.com:587``.
    via: str

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its To addresses, or raise :class:`SendError`."""
        ...
