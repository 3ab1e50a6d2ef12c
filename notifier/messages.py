"""Turning rendered words into an email message, separate from sending it.

Every message carries a Message-ID derived from its dedupe key, so if a message
ever has to be sent again (a crash between sending and recording it) the copy
is recognisably the same message, and mail clients fold it into the first.

>>> message_id("low:p-0001") == message_id("low:p-0001")
True
>>> message_id("low:p-0001").endswith("@creditsheet>")
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, getaddresses

from notifier.format import one_line
from notifier.render import Rendered

DOMAIN = "creditsheet"
#: Headers are folded only past RFC 5322's hard limit of 998 characters: the email
#: package's folding at 78 can move a whole Subject to a continuation line, and
#: some readers then show it with a leading space. Bodies are quoted-printable.
POLICY = default_policy.clone(max_line_length=998)


def from_bytes(raw: bytes) -> EmailMessage:
    """A message again from its RFC 5322 bytes (as the outbox keeps it)."""
    return message_from_bytes(raw, policy=POLICY)


class AddressError(ValueError):
    """An address that cannot go in an email header (no ``@``, a line break, ...)."""


def message_id(dedupe_key: str) -> str:
    """The Message-ID for a dedupe key: the same key always gives the same ID."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{DOMAIN}>"


def build(
    rendered: Rendered,
    *,
    dedupe_key: str,
    sender: str,
    to: Sequence[str],
    now: datetime,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) ready for the outbox."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = one_line(rendered.subject)
    msg["From"] = sender
    try:
        msg["To"] = ", ".join(checked_address(a) for a in to)
    except (ValueError, IndexError) as err:
        raise AddressError(str(err)) from None
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(dedupe_key)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return msg


def checked_address(address: str) -> str:
    """``address`` if it is one plain email address, else :class:`AddressError`."""
    text = address.strip()
    bad = AddressError(f"'{one_line(address)}' is not an email address")
    if not text or "\n" in text or "\r" in text:
        raise bad
    try:
        header = default_policy.header_factory("To", text)
        found = header.addresses
        ok = len(found) == 1 and found[0].username and found[0].domain and not header.defects
    except Exception:  # the email package raises several kinds on odd input
        raise bad from None
    if not ok:
        raise bad
    return text


def recipients(message: EmailMessage) -> list[str]:
    """The envelope recipients: every address in To and Cc."""
    fields = [str(v) for v in message.get_all("To", []) + message.get_all("Cc", [])]
    return [addr for _, addr in getaddresses(fields) if addr]


def envelope_sender(message: EmailMessage) -> str:
    found = getaddresses([str(message.get("From", ""))])
    return found[0][1] if found else ""
