"""A gspread HTTP client that retries what is worth retrying, within bounds.

    client = RetryingHTTPClient(session, policy=RetryPolicy(), rng=random.Random(7))
    client.values_batch_get(key, ["'Clients'"], params)  # gspread's own request helpers

gspread 6.2.1's ``BackOffHTTPClient`` retries forever on a persistent error,
has no jitter and does not retry dropped connections. This one retries HTTP
429, 500, 502, 503 and 504, timeouts and dropped connections with truncated
exponential backoff and full jitter (a random wait between 0 and
``min(max_delay, first_delay * 2**n)``), never sooner than a ``Retry-After``
header asks, and gives up after ``attempts`` tries or ``total_seconds``,
whichever comes first, with :class:`SheetsUnreachable`. Every request carries a
(connect, read) timeout. The random source, the sleep and the clock are
parameters, so tests run instantly and reproducibly.

When ``base_url`` is given, requests meant for ``https://sheets.googleapis.com``
go there instead (``CREDITSHEET_SHEETS_ENDPOINT``, for a local emulator).

Log lines name the API method and the status only: never a URL's query, a
header or a token.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from google.auth.exceptions import TransportError
from gspread.exceptions import APIError
from gspread.http_client import FileType, HTTPClient, ParamsType
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_VALUES_BATCH_URL

from rules.words import plural
from sync.backends.base import WorkbookUnavailable

log = logging.getLogger(__name__)

GOOGLE_SHEETS_URL = "https://sheets.googleapis.com"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Failures where no answer came back: the request may or may not have been carried out.
_NO_ANSWER: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    TransportError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: tries, total time, backoff and the per-request timeout."""

    attempts: int = 5
    total_seconds: float = 60.0
    first_delay: float = 1.0
    max_delay: float = 30.0
    #: (connect, read) seconds; Google itself gives up on a request after 180 s.
    timeout: tuple[float, float] = (10.0, 120.0)

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter: uniform between 0 and the capped exponential step."""
        return rng.uniform(0.0, min(self.max_delay, self.first_delay * 2**retry))


class SheetsUnreachable(WorkbookUnavailable):
    """Google Sheets did not answer usefully within the retry bounds."""

    def __init__(self, tries: int, seconds: float, last: str, *, maybe_applied: bool) -> None:
        self.tries = tries
        self.seconds = seconds
        self.last = last
        #: A write got no answer at some point: it may have been carried out.
        self.maybe_applied = maybe_applied
        outcome = (
            "the write may or may not have reached the sheet; the next cycle checks and "
            "completes it"
            if maybe_applied
            else "nothing was written; the next cycle tries again"
        )
        noun = "try" if tries == 1 else "tries"
        super().__init__(
            f"Google Sheets did not answer after {tries} {noun} over {seconds:.0f} s "
            f"({last}): {outcome}"
        )


def retry_after(headers: Mapping[str, str], now: Callable[[], datetime]) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date), or None."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def describe_status(response: requests.Response) -> str:
    """A short, safe description of an error answer, for messages and logs."""
    if response.status_code == 429:
        return "HTTP 429: over the Sheets API quota"
    return f"HTTP {response.status_code}"


def api_name(method: str, url: str) -> str:
    """``GET values:batchGet``-style name of a request, without ids or query."""
    tail = url.split("?", 1)[0].rsplit("/", 1)[-1]
    action = tail.split(":", 1)[1] if ":" in tail else ("values" if "/values/" in url else "get")
    return f"{method.upper()} {action}"


class RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client with bounded, jittered retries and a timeout on every request."""

    def __init__(
        self,
        session: requests.Session,
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        base_url: str | None = None,
    ) -> None:
        super().__init__(auth=None, session=session)  # type: ignore[arg-type]
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.clock = clock
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = self.policy.timeout
        #: Requests sent, retries included (for tests and the summary).
        self.sent = 0
        #: The last request was a write that once got no answer: it may have been carried
        #: out before the answer that ended it (e.g. a refusal to repeat it).
        self.last_maybe_applied = False

    def values_batch_get_response(
        self, id: str, ranges: list[str], params: Mapping[str, Any] | None = None
    ) -> requests.Response:
        """gspread's ``values_batch_get``, answering with the response itself: its bytes can
        be fingerprinted before (or instead of) decoding them."""
        query: dict[str, Any] = {**(params or {}), "ranges": ranges}
        return self.request("get", SPREADSHEET_VALUES_BATCH_URL % id, params=query)

    def batch_update_encoded(
        self,
        id: str,
        body: bytes,
        params: ParamsType | None = None,
        *,
        resend_unanswered: bool = True,
    ) -> requests.Response:
        """gspread's ``batch_update`` with a body already encoded as JSON, answering with the
        response (its replies, one per request, are left undecoded for who needs them).

        The bytes go out as they are, as ``requests`` sends a ``json=`` body (the same
        ``Content-Type``): a caller that had to encode the requests anyway (to measure
        them) need not have them encoded a second time.

        ``resend_unanswered=False``: a write that got no answer, or a server error, is not
        sent again (it may have been carried out, and the body is not safe to repeat: it
        appends rows); a quota refusal (429) still is.
        """
        headers = {"Content-Type": "application/json"}
        return self.request(
            "post",
            SPREADSHEET_BATCH_UPDATE_URL % id,
            params=params,
            data=body,
            headers=headers,
            resend_unanswered=resend_unanswered,
        )

    def rebase(self, url: str) -> str:
        if self.base_url and url.startswith(GOOGLE_SHEETS_URL):
            return self.base_url + url[len(GOOGLE_SHEETS_URL) :]
        return url

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
        resend_unanswered: bool = True,
    ) -> requests.Response:
        url = self.rebase(endpoint)
        name = api_name(method, url)
        started = self.clock()
        maybe_applied = self.last_maybe_applied = False
        tries = 0
        while True:
            tries += 1
            self.sent += 1
            try:
                response = self.session.request(
                    method=method,
                    url=url,
                    json=json,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.policy.timeout,
                )
            except _NO_ANSWER as err:
                timed_out = isinstance(err, requests.exceptions.Timeout)
                read_timeout = self.policy.timeout[1]
                last = f"no answer within {read_timeout:g} s" if timed_out else "connection dropped"
                if method.upper() != "GET":
                    maybe_applied = self.last_maybe_applied = True
                    if not resend_unanswered:
                        log.warning("%s: %s; not sent again (it may have been applied)", name, last)
                        raise SheetsUnreachable(
                            tries, self.clock() - started, last, maybe_applied=True
                        ) from None
                wait = self.policy.backoff(tries - 1, self.rng)
            else:
                if response.ok:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise APIError(response)
                last = describe_status(response)
                if not resend_unanswered and response.status_code != 429:
                    # A server error may come after the write was carried out (a 504 after
                    # the deadline); only a quota refusal is sure to have done nothing.
                    log.warning("%s: %s; not sent again (it may have been applied)", name, last)
                    raise SheetsUnreachable(tries, self.clock() - started, last, maybe_applied=True)
                asked = retry_after(response.headers, lambda: datetime.now(UTC))
                wait = self.policy.backoff(tries - 1, self.rng)
                if asked is not None:
                    wait = max(wait, asked)
            elapsed = self.clock() - started
            if tries >= self.policy.attempts or elapsed + wait > self.policy.total_seconds:
                log.warning("%s: %s; giving up after %s", name, last, plural(tries, "try", "tries"))
                raise SheetsUnreachable(tries, elapsed, last, maybe_applied=maybe_applied)
            log.warning(
                "%s: %s; trying again in %.1f s (try %d of %d)",
                name,
                last,
                wait,
                tries + 1,
                self.policy.attempts,
            )
            self.sleep(wait)
