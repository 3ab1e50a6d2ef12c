"""Signing in: which spreadsheet, and the service account that opens it."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from google.auth.credentials import Credentials
from google.oauth2 import service_account
from gspread.exceptions import NoValidUrlKeyFound
from gspread.utils import extract_id_from_url

from sync.backends.base import (
    WorkbookUnavailable,
)

log = logging.getLogger(__name__)


SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
#: Send every Sheets request to this base URL instead, without credentials (an emulator).
ENDPOINT_ENV = "CREDITSHEET_SHEETS_ENDPOINT"


def spreadsheet_id_of(given: str) -> str:
    """The spreadsheet's id from a Google Sheets address or a bare id (ValueError if neither)."""
    given = given.strip()
    if "/" in given:
        try:
            return extract_id_from_url(given)
        except NoValidUrlKeyFound:
            raise ValueError(
                f"'{given}' is not a Google Sheets address (it should look like "
                "https://docs.google.com/spreadsheets/d/<key>/edit)"
            ) from None
    if re.fullmatch(r"[A-Za-z0-9_-]{10,}", given):
        return given
    raise ValueError(f"'{given}' is neither a Google Sheets address nor a spreadsheet key")


def load_service_account(path: Path) -> tuple[Credentials, str]:
    """Credentials and the account's email from a service-account JSON key file."""
    fix = "download a JSON key for the service account (see docs/google.md, step 3)"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbookUnavailable(
            f"no service-account key file at {path}: {fix} and point [workbook] credentials at it"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not a text file"
        raise WorkbookUnavailable(
            f"the service-account key file {path} cannot be read ({reason}): "
            "check the file and its permissions"
        ) from None
    try:
        info = json.loads(raw)
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        if isinstance(info, dict) and ("installed" in info or "web" in info):
            what = "it is an OAuth client file, not a service-account key"
        elif isinstance(info, dict):
            what = 'its "type" is not "service_account"'
        else:
            what = "it is not JSON"
        raise WorkbookUnavailable(f"{path} is not a service-account key ({what}): {fix}")
    try:
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=SCOPES
        )
    except (ValueError, KeyError, TypeError) as err:
        # google-auth names missing fields; a bad private key gets a message of our own,
        # so no part of the key ever reaches a message or a log.
        detail = str(err) if "missing fields" in str(err) else "its private key cannot be read"
        raise WorkbookUnavailable(
            f"{path} is not a usable service-account key ({detail}): {fix}"
        ) from None
    return credentials, str(info.get("client_email", ""))


def access_refused(
    code: int, message: str, spreadsheet_id: str, email: str | None, *, writing: bool
) -> str:
    """What a refusal from Google (HTTP ``code``, Google's ``message``) means for the
    practitioner, and what to do about it."""
    if code == 404:
        return (
            f"there is no Google spreadsheet with the key {spreadsheet_id}: check [workbook] "
            "spreadsheet (copy the address from the browser while the sheet is open)"
        )
    if code == 403:
        return _forbidden(message, spreadsheet_id, email, writing=writing)
    if code == 401:
        return (
            "Google did not accept the service account's credentials (HTTP 401): "
            "create a new JSON key (docs/google.md, step 3)"
        )
    return f"Google Sheets answered HTTP {code}: {message}"


def _forbidden(message: str, spreadsheet_id: str, email: str | None, *, writing: bool) -> str:
    if "has not been used" in message or "is disabled" in message:
        link = re.search(r"https://console\.\S+", message)
        at = f" ({link.group(0).rstrip('.')})" if link else ""
        return (
            "the Google Sheets API is not enabled in the service account's Google Cloud "
            f"project: enable it{at} and try again in a few minutes"
        )
    who = email or "the service account's email (client_email in its key file)"
    if writing:
        return (
            f"{who} may read the spreadsheet {spreadsheet_id} but not change it: in Google Sheets "
            f"click Share and make {who} an Editor"
        )
    return (
        f"the spreadsheet {spreadsheet_id} is not shared with {who}: open it in Google Sheets, "
        f"click Share, and add {who} as an Editor"
    )
