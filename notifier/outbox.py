"""The file email backend: one RFC 5322 ``.eml`` file per message.

Files are written atomically (a temporary file in the same folder, then a
rename), so a reader never sees half a message, and named
``20261122T080000Z-<id>.eml`` from the message's Date and Message-ID, so ``ls``
lists them by time and sending the same message twice rewrites one file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from notifier.send import SendError


class FileSender:
    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)
        self.via = f"files in {self.outbox}"

    def filename(self, message: EmailMessage) -> str:
        when = _date_of(message).astimezone(UTC)
        ident = str(message.get("Message-ID") or message.as_bytes())
        short = hashlib.sha256(ident.encode()).hexdigest()[:12]
        return f"{when:%Y%m%dT%H%M%SZ}-{short}.eml"

    def send(self, message: EmailMessage) -> None:
        target = self.outbox / self.filename(message)
        data = message.as_bytes()
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.outbox, prefix=".", suffix=".eml.tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise SendError(
                f"could not write the email to {target}: {reason}; "
                "the message stays queued and is retried",
                unreachable=True,
            ) from None


def _date_of(message: EmailMessage) -> datetime:
    raw = message.get("Date")
    if raw:
        try:
            parsed = parsedate_to_datetime(str(raw))
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)
