"""One spreadsheet's API calls: signed in on first use, each counted, Google's errors in
plain words.

    api = SheetsAPI(spreadsheet_id, key_file=Path("service-account.json"))
    api.metadata({"fields": ...})   # spreadsheets.get
    api.batch_get(["Clients!1:2"])  # values:batchGet, plain values
    api.update(body)                # one batchUpdate, already encoded

Every failure becomes a :class:`~sync.backends.base.WorkbookUnavailable` saying
what to do, except Google's 400 (a range or request it cannot carry out), which
is :class:`Refused`: the backend decides what it means (a tab moved, a write
refused).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import requests
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.auth.transport.requests import AuthorizedSession
from gspread.exceptions import APIError
from gspread.http_client import ParamsType

from sync.backends.base import WorkbookUnavailable
from sync.backends.google.cells import COMPACT
from sync.backends.google.client import RetryingHTTPClient, RetryPolicy
from sync.backends.google.signin import ENDPOINT_ENV, access_refused, load_service_account
from sync.keyfile import check_key_file

log = logging.getLogger(__name__)

#: How every values read asks: plain values, dates as serial numbers, row by row.
VALUES = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
    **COMPACT,
}
T = TypeVar("T")


class Refused(Exception):
    """Google answered 400: a range or request it cannot carry out."""


class SheetsAPI:
    """The Sheets API for one spreadsheet (``spreadsheet_id``).

    ``key_file`` is the service-account JSON key; with ``endpoint`` (an emulator's
    base URL) no credentials are used. ``rng``, ``sleep`` and ``clock`` drive the
    retries.
    """

    def __init__(
        self,
        spreadsheet_id: str,
        *,
        key_file: Path | None = None,
        endpoint: str | None = None,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.key_file = key_file
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.clock = clock
        #: The service account's address, once signed in (for the access messages).
        self.email: str | None = None
        #: API calls made (each counted once, however many tries it took).
        self.calls = 0
        self._http: RetryingHTTPClient | None = None

    def client(self) -> RetryingHTTPClient:
        """The HTTP client, made on first use (so a fixed key file is picked up next cycle)."""
        if self._http is None:
            if self.endpoint:
                session = AuthorizedSession(AnonymousCredentials())  # type: ignore[no-untyped-call]
            else:
                if self.key_file is None:
                    raise WorkbookUnavailable(
                        "[workbook] credentials is not set: name the service-account key file "
                        "(see docs/google.md)"
                    )
                credentials, self.email = load_service_account(self.key_file)
                for warning in check_key_file(self.key_file):
                    log.warning(warning)
                session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
            self._http = RetryingHTTPClient(
                session,
                policy=self.policy,
                rng=self.rng,
                sleep=self.sleep,
                clock=self.clock,
                base_url=self.endpoint,
            )
        return self._http

    def call(self, call: Callable[[RetryingHTTPClient], T], *, writing: bool = False) -> T:
        """One API call (with its retries); Google's errors in plain words."""
        http = self.client()
        self.calls += 1
        try:
            return call(http)
        except APIError as err:
            message = str(err.error.get("message", ""))
            if err.code == 400:
                raise Refused(message) from None
            raise WorkbookUnavailable(
                access_refused(err.code, message, self.spreadsheet_id, self.email, writing=writing)
            ) from None
        except RefreshError as err:
            reason = str(err.args[0]) if err.args else "refused"
            raise WorkbookUnavailable(
                f"Google refused the service-account key {self.key_file} ({reason}): the key may "
                "have been deleted or the account disabled; create a new JSON key "
                "(docs/google.md, step 3)"
            ) from None
        except GoogleAuthError as err:
            raise WorkbookUnavailable(f"signing in to Google failed: {err}") from None
        except requests.exceptions.RequestException as err:
            raise WorkbookUnavailable(
                f"cannot reach Google Sheets ({type(err).__name__}): check the network"
                + (f" and {ENDPOINT_ENV}" if self.endpoint else "")
            ) from None

    def metadata(self, params: dict[str, Any]) -> Mapping[str, Any]:
        """``spreadsheets.get`` with ``params`` (its ``fields``, ranges, grid data)."""
        return self.call(lambda h: h.fetch_sheet_metadata(self.spreadsheet_id, params))

    def batch_get(self, ranges: Sequence[str]) -> list[dict[str, Any]]:
        """The plain values of ``ranges`` (one values:batchGet), in their order."""
        answer = self.call(
            lambda h: h.values_batch_get(self.spreadsheet_id, list(ranges), dict(VALUES))
        )
        found: list[dict[str, Any]] = answer.get("valueRanges") or []
        return found

    def update(self, body: bytes, params: ParamsType | None = None) -> requests.Response:
        """One batchUpdate of an encoded ``body``."""
        # appendCells is the one request that is not safe to repeat: a batch that appends
        # rows and got no answer is not sent again (the next cycle finds what landed).
        resend = b'"appendCells"' not in body
        return self.call(
            lambda h: h.batch_update_encoded(
                self.spreadsheet_id, body, params, resend_unanswered=resend
            ),
            writing=True,
        )
