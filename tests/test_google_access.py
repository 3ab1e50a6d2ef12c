"""Reaching the sheet: key files, sharing, the API switch, and what ``check`` says about them.

A throwaway service-account key (a fresh RSA key) signs in against a mocked Google token
endpoint; the Sheets API fake answers ``sheets.googleapis.com`` in-process, so the real
google-auth and gspread code runs end to end without a network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sync import bootstrap
from sync.backends.base import WorkbookUnavailable
from sync.backends.google import (
    ENDPOINT_ENV,
    GoogleBackend,
    load_service_account,
    spreadsheet_id_of,
)
from sync.backends.google.client import RetryPolicy
from sync.cli import cli
from sync.config import ConfigError, parse
from tests.sheetsfake import FakeSheets, Fault

EMAIL = "creditsheet@practice-123.iam.gserviceaccount.com"
TOKEN = "ya29.not-a-real-token-but-secret"
TOKEN_URL = "https://oauth2.googleapis.com/token"
TABS = {
    "Clients": [["Client"], ["Ann Lee"]],
    "Packages": [["Client", "Sessions"], ["Ann Lee", 5]],
    "Sessions": [["Date", "Client"]],
}


def private_key_pem() -> str:
    """A freshly generated RSA private key, PEM (PKCS#8) as a service-account key has it."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def key_file(folder: Path, **changes: Any) -> Path:
    """A service-account JSON key with a freshly generated RSA key."""
    pem = private_key_pem()
    info = {
        "type": "service_account",
        "project_id": "practice-123",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": TOKEN_URL,
        **changes,
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSheets]:
    """The fake answering sheets.googleapis.com, and Google's token endpoint mocked."""
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    made = FakeSheets(seed=9, require_auth=True)
    with made.mocked() as mock:
        mock.add(
            responses.POST,
            TOKEN_URL,
            json={"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"},
        )
        yield made


def signed_in(sid: str, path: Path) -> GoogleBackend:
    return GoogleBackend(sid, key_file=path, policy=RetryPolicy(), sleep=lambda s: None)


# --- key files ---------------------------------------------------------------------


def test_a_missing_key_file_says_where_it_looked(tmp_path: Path) -> None:
    expected = r"no service-account key file at .*missing\.json"
    with pytest.raises(WorkbookUnavailable, match=expected):
        load_service_account(tmp_path / "missing.json")


def test_an_unreadable_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(WorkbookUnavailable, match=r"key file .* cannot be read \(Is a directory\)"):
        load_service_account(tmp_path)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json at all", "it is not JSON"),
        ('{"installed": {"client_id": "x"}}', "it is an OAuth client file"),
        ('{"type": "authorized_user"}', 'its "type" is not "service_account"'),
        ('{"type": "service_account"}', "missing fields"),
    ],
)
def test_a_file_that_is_not_a_service_account_key_says_what_it_is(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "key.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WorkbookUnavailable, match="is not a") as raised:
        load_service_account(path)
    assert why in str(raised.value)
    assert "download a JSON key" in str(raised.value)


def test_a_broken_private_key_is_reported_without_showing_it(tmp_path: Path) -> None:
    secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRETBYTES\n-----END PRIVATE KEY-----\n"
    path = key_file(tmp_path, private_key=secret)
    with pytest.raises(WorkbookUnavailable, match="its private key cannot be read") as raised:
        load_service_account(path)
    assert "TOPSECRET" not in str(raised.value)


def test_a_good_key_gives_credentials_and_the_address_to_share_with(tmp_path: Path) -> None:
    credentials, email = load_service_account(key_file(tmp_path))
    assert email == EMAIL
    assert credentials.requires_scopes is False  # scoped to spreadsheets already


# --- the sheet -----------------------------------------------------------------------


def test_a_shared_sheet_is_read_with_the_service_accounts_token(
    fake: FakeSheets, tmp_path: Path
) -> None:
    sid = fake.create_spreadsheet("Practice", TABS)
    snapshot = signed_in(sid, key_file(tmp_path)).read()
    assert snapshot.tables["Clients"].rows == [["Ann Lee"]]
    assert all(r.status == 200 for r in fake.requests)  # the fake demands a token


def test_a_sheet_not_shared_names_the_address_to_share_it_with(
    fake: FakeSheets, tmp_path: Path
) -> None:
    sid = fake.create_spreadsheet("Practice", TABS, private=True)
    with pytest.raises(WorkbookUnavailable) as raised:
        signed_in(sid, key_file(tmp_path)).read()
    message = str(raised.value)
    assert f"is not shared with {EMAIL}" in message
    assert f"add {EMAIL} as an Editor" in message


def test_a_sheet_shared_read_only_says_to_make_the_account_an_editor(
    fake: FakeSheets, tmp_path: Path
) -> None:
    from sync.backends.base import CellChange, WritePlan

    sid = fake.create_spreadsheet("Practice", TABS)
    b = signed_in(sid, key_file(tmp_path))
    snapshot = b.read()
    fake.faults.fail(403, kind="batchUpdate")
    change = CellChange("Clients", 2, 1, "Sync note", None, "x", "text", None, True, False)
    with pytest.raises(WorkbookUnavailable, match=f"make {EMAIL} an Editor"):
        b.write(snapshot, WritePlan(cells=(change,)))


def test_a_missing_sheet_says_to_check_the_address(fake: FakeSheets, tmp_path: Path) -> None:
    with pytest.raises(WorkbookUnavailable, match="there is no Google spreadsheet with the key"):
        signed_in("1" + "x" * 43, key_file(tmp_path)).read()


def test_the_sheets_api_switched_off_says_where_to_switch_it_on(
    fake: FakeSheets, tmp_path: Path
) -> None:
    link = "https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project=1"
    message = "Google Sheets API has not been used in project 1 before or it is disabled. "
    message += f"Enable it by visiting {link} then retry."
    sid = fake.create_spreadsheet("Practice", TABS)
    fake.faults.add(Fault.http(403, message=message))
    with pytest.raises(WorkbookUnavailable, match="API is not enabled") as raised:
        signed_in(sid, key_file(tmp_path)).read()
    assert link in str(raised.value)


def test_a_revoked_key_says_to_make_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    made = FakeSheets(seed=9)
    sid = made.create_spreadsheet("Practice", TABS)
    with made.mocked() as mock:
        mock.add(
            responses.POST,
            TOKEN_URL,
            status=400,
            json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
        )
        with pytest.raises(WorkbookUnavailable, match="Google refused the service-account key"):
            signed_in(sid, key_file(tmp_path)).read()


def test_logs_never_carry_the_token_or_the_key(
    fake: FakeSheets, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sid = fake.create_spreadsheet("Practice", TABS)
    path = key_file(tmp_path)
    fake.faults.rate_limit(kind="values.batchGet", retry_after=1)
    fake.faults.fail(500, kind="values.batchGet")
    with caplog.at_level(logging.DEBUG):
        signed_in(sid, path).read()
    assert "trying again" in caplog.text  # the retries were logged
    private = json.loads(path.read_text())["private_key"].splitlines()[1]
    assert TOKEN not in caplog.text and private not in caplog.text
    assert "Bearer" not in caplog.text


# --- config and check ----------------------------------------------------------------


def config_file(folder: Path, spreadsheet: str, credentials: str | None) -> Path:
    lines = ["[workbook]", 'backend = "google"', f'spreadsheet = "{spreadsheet}"']
    if credentials:
        lines.append(f'credentials = "{credentials}"')
    lines += ["[sync]", 'timezone = "Europe/London"', "[email]", 'to = ["me@example.com"]']
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_spreadsheet_is_given_by_address_or_key() -> None:
    key = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
    assert spreadsheet_id_of(f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0") == key
    assert spreadsheet_id_of(f"  {key} ") == key
    with pytest.raises(ValueError, match="neither a Google Sheets address nor"):
        spreadsheet_id_of("my sheet")
    with pytest.raises(ValueError, match="is not a Google Sheets address"):
        spreadsheet_id_of("https://example.com/some/page")


def test_config_mistakes_are_config_errors_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    raw = {"workbook": {"backend": "google", "spreadsheet": "1" * 44}}
    with pytest.raises(ConfigError, match=r"\[workbook\] credentials: required"):
        bootstrap.backend(parse(raw, tmp_path / "config.toml"))
    raw["workbook"].update(spreadsheet="my sheet", credentials="key.json")
    with pytest.raises(ConfigError, match=r"config.toml: \[workbook\] spreadsheet: 'my sheet'"):
        bootstrap.backend(parse(raw, tmp_path / "config.toml"))
    raw["workbook"]["spreadsheet"] = "1" * 44
    made = bootstrap.backend(parse(raw, tmp_path / "config.toml"))
    assert isinstance(made, GoogleBackend) and made.key_file == tmp_path / "key.json"
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:9")
    del raw["workbook"]["credentials"]
    made = bootstrap.backend(parse(raw, tmp_path / "config.toml"))
    assert isinstance(made, GoogleBackend) and made.endpoint == "http://127.0.0.1:9"


def test_check_names_the_address_to_share_with_and_exits_3(
    fake: FakeSheets, tmp_path: Path
) -> None:
    sid = fake.create_spreadsheet("Practice", TABS, private=True)
    key_file(tmp_path)
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    config = config_file(tmp_path, url, "service-account.json")
    result = CliRunner().invoke(cli, ["check", "--config", str(config)])
    assert result.exit_code == 3, result.output
    assert f"is not shared with {EMAIL}" in result.output
    fake.set_private(sid, False)
    result = CliRunner().invoke(cli, ["check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"ok: workbook Google Sheets 'Practice' ({sid}) can be read" in result.output
    assert not fake.requests_of("batchUpdate")


def test_check_with_a_missing_key_file_exits_3_and_says_where(
    fake: FakeSheets, tmp_path: Path
) -> None:
    config = config_file(tmp_path, "1" * 44, "nowhere.json")
    result = CliRunner().invoke(cli, ["check", "--config", str(config)])
    assert result.exit_code == 3
    assert "no service-account key file at" in result.output
    assert "nowhere.json" in result.output
