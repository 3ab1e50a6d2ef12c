"""Reading one feed: an ICS address over HTTP, or an ``.ics`` file.

An address is fetched with a timeout, redirects followed, a conditional request
(``If-None-Match`` / ``If-Modified-Since`` from the last answer) and the same
bounded retry as the Sheets client (:class:`sync.backends.google.client.RetryPolicy`).
Feed addresses are secrets (they grant read access to a calendar): whatever this
module says about a feed (logs, errors, ``label``) names only its host.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from sync.backends.google.client import RETRY_STATUSES, RetryPolicy, retry_after
from sync.errors import CreditsheetError

log = logging.getLogger(__name__)


class _HideAddresses(logging.Filter):
    """urllib3 logs each request's path at debug level; for a feed that path is the
    secret. Such a line is kept with the feed's host only."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            hidden = message
            for secret in self.secrets:
                hidden = hidden.replace(secret, "/(calendar feed address hidden)")
            if hidden != message:
                record.msg, record.args = hidden, ()
        return True


_HIDE = _HideAddresses()
logging.getLogger("urllib3.connectionpool").addFilter(_HIDE)

#: A feed bigger than this is refused (a year of a busy practice is well under 5 MB).
MAX_FEED_BYTES = 50_000_000
USER_AGENT = "creditsheet calendar import"


@dataclass(frozen=True, slots=True)
class FeedSource:
    """One configured feed: ``address`` as configured, ``path`` for a file."""

    address: str
    path: Path | None = None

    @classmethod
    def of(cls, given: str, resolve: Callable[[str], Path]) -> FeedSource:
        text = given.strip()
        if "://" in text:
            scheme, rest = text.split("://", 1)
            if scheme.casefold() in {"webcal", "webcals"}:
                text = "https://" + rest
            return cls(text)
        return cls(text, resolve(text))

    @property
    def id(self) -> str:
        """A stable key for the state store that does not hold the address."""
        return hashlib.sha256(self.address.encode()).hexdigest()[:24]

    @property
    def label(self) -> str:
        """What messages call the feed: the host of an address, the name of a file."""
        if self.path is not None:
            return self.path.name
        host = urlsplit(self.address).hostname or "?"
        return host


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last answer said about its version, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FeedRead:
    """One feed's read: the calendar's bytes, or why there are none.

    ``not_modified``: the server answered 304, so the last body stands.
    """

    source: FeedSource
    data: bytes | None
    error: str | None = None
    not_modified: bool = False
    validators: Validators = Validators()

    @property
    def ok(self) -> bool:
        return self.error is None


class FeedError(CreditsheetError):
    """A feed that could not be read; the message never holds its address."""


def read_feed(
    source: FeedSource,
    validators: Validators | None = None,
    *,
    session: requests.Session | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FeedRead:
    """Read one feed; never raises for a feed that cannot be read (see ``error``)."""
    if source.path is not None:
        return _read_file(source)
    parts = urlsplit(source.address)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    if secret not in ("", "/"):
        _HIDE.secrets.add(secret)
    try:
        return _fetch(
            source,
            validators or Validators(),
            session or requests.Session(),
            policy or RetryPolicy(attempts=3, total_seconds=60.0, timeout=(10.0, 30.0)),
            sleep,
            rng or random.Random(),
            clock,
        )
    except FeedError as err:
        return FeedRead(source, None, error=str(err))


def _read_file(source: FeedSource) -> FeedRead:
    assert source.path is not None
    try:
        data = source.path.read_bytes()
    except FileNotFoundError:
        return FeedRead(source, None, error="the file is not there")
    except OSError as err:
        return FeedRead(source, None, error=f"the file cannot be read ({err.strerror})")
    return FeedRead(source, data)


def _fetch(
    source: FeedSource,
    validators: Validators,
    session: requests.Session,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    rng: random.Random,
    clock: Callable[[], datetime],
) -> FeedRead:
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    started = time.monotonic()
    last = ""
    for attempt in range(policy.attempts):
        wait: float | None = None
        try:
            response = session.get(
                source.address, headers=headers, timeout=policy.timeout, allow_redirects=True
            )
        except requests.exceptions.Timeout:
            last = "no answer in time"
        except requests.exceptions.TooManyRedirects:
            raise FeedError("it redirects in a loop") from None
        except requests.exceptions.ConnectionError:
            last = "cannot connect"
        except requests.exceptions.ChunkedEncodingError:
            last = "the answer was cut off"
        except requests.exceptions.RequestException:
            raise FeedError("it cannot be fetched") from None
        else:
            status = response.status_code
            if status == 304:
                return FeedRead(source, None, not_modified=True, validators=validators)
            if 200 <= status < 300:
                data = response.content
                if len(data) > MAX_FEED_BYTES:
                    raise FeedError(f"it sent more than {MAX_FEED_BYTES:,} bytes")
                return FeedRead(
                    source,
                    data,
                    validators=Validators(
                        response.headers.get("ETag"), response.headers.get("Last-Modified")
                    ),
                )
            if status not in RETRY_STATUSES:
                raise FeedError(f"it answered HTTP {status}{_hint(status)}")
            last = f"HTTP {status}"
            wait = retry_after(response.headers, clock)
        log.info(
            "calendar feed %s: %s (try %d of %d)", source.label, last, attempt + 1, policy.attempts
        )
        if attempt + 1 >= policy.attempts:
            break
        delay = max(wait or 0.0, policy.backoff(attempt, rng))
        if time.monotonic() - started + delay > policy.total_seconds:
            break
        sleep(delay)
    raise FeedError(f"it did not answer usefully ({last})")


def _hint(status: int) -> str:
    if status in (401, 403):
        return ": the address may have been reset; copy the private address again"
    if status in (404, 410):
        return ": the address is no longer valid; copy the private address again"
    return ""
