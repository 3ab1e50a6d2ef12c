"""A mail sender for tests: it records what it "sent" and can be told to fail."""

from __future__ import annotations

from email.message import EmailMessage

from notifier.send import SendError


class RecordingSender:
    """A fake that records what it "sent"; it can be told to fail.

    ``fail_times``: how many of the next calls raise ``error`` before sending
    works again (``-1``: fail until changed).
    """

    via = "recording sender"

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
