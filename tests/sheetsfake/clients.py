"""Point real clients at the fake: a gspread client with anonymous credentials, optionally
sending its ``https://sheets.googleapis.com`` requests to another base URL (the loopback
server), the way the project's backend does when ``CREDITSHEET_SHEETS_ENDPOINT`` is set.
"""

from __future__ import annotations

from typing import Any

import gspread
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import AuthorizedSession

GOOGLE_BASE_URL = "https://sheets.googleapis.com"


class RebasedSession(AuthorizedSession):
    """An AuthorizedSession that rewrites ``https://sheets.googleapis.com`` to ``base_url``."""

    def __init__(self, credentials: Credentials, base_url: str) -> None:
        super().__init__(credentials)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if url.startswith(GOOGLE_BASE_URL):
            url = self.base_url + url[len(GOOGLE_BASE_URL) :]
        return super().request(method, url, *args, **kwargs)


def gspread_client(
    base_url: str | None = None,
    credentials: Credentials | None = None,
    http_client: type[gspread.HTTPClient] = gspread.HTTPClient,
) -> gspread.Client:
    """A real ``gspread.Client``; with ``base_url`` its Sheets calls go there instead."""
    credentials = credentials or AnonymousCredentials()
    session = RebasedSession(credentials, base_url) if base_url else None
    return gspread.Client(auth=credentials, session=session, http_client=http_client)
