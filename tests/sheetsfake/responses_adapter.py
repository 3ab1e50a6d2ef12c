"""In-process transport: answer ``requests`` calls through the ``responses`` library.

Callbacks are registered for ``<base>/v4/spreadsheets...`` on every HTTP method, so the real
gspread client (over ``requests``) talks to the fake without any socket. A dropped
connection raises ``requests.exceptions.ConnectionError``; a delay longer than the request's
read timeout raises ``requests.exceptions.ReadTimeout`` after waiting that timeout.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import responses

if TYPE_CHECKING:
    from .fake import FakeSheets

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _read_timeout(request: Any) -> float | None:
    timeout = getattr(request, "req_kwargs", {}).get("timeout")
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    return None if timeout is None else float(timeout)


def _callback(fake: FakeSheets, request: requests.PreparedRequest) -> Any:
    url = urlsplit(str(request.url))
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    limit = _read_timeout(request)

    def wait(seconds: float) -> bool:
        if limit is not None and seconds >= limit:
            time.sleep(limit)
            return False
        time.sleep(seconds)
        return True

    outcome = fake.handle(
        str(request.method), url.path, url.query, body, dict(request.headers), wait=wait
    )
    if outcome.dropped:
        return requests.exceptions.ConnectionError(
            "('Connection aborted.', RemoteDisconnected('Remote end closed connection without"
            " response'))",
            request=request,
        )
    if outcome.timed_out:
        return requests.exceptions.ReadTimeout(
            f"Read timed out. (read timeout={limit})", request=request
        )
    return outcome.status, outcome.headers, outcome.content


def install(fake: FakeSheets, rsps: responses.RequestsMock, base_urls: tuple[str, ...]) -> None:
    """Register the fake's callbacks on ``rsps`` for each base URL."""
    for base in base_urls:
        pattern = re.compile(re.escape(base.rstrip("/")) + r"/v4/spreadsheets(?:[/:?].*)?$")
        for method in METHODS:
            rsps.add_callback(method, pattern, callback=partial(_callback, fake))


@contextlib.contextmanager
def mocked(
    fake: FakeSheets,
    rsps: responses.RequestsMock | None = None,
    *,
    base_urls: tuple[str, ...],
) -> Iterator[responses.RequestsMock]:
    """Use the given ``RequestsMock`` (left running) or start and stop a fresh one."""
    if rsps is not None:
        install(fake, rsps, base_urls)
        yield rsps
        return
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install(fake, mock, base_urls)
        yield mock
