"""`check` on Google warns about a service-account key file other users can read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.backends.google import ENDPOINT_ENV
from sync.cli import cli
from tests.sheetsfake import FakeSheets


def test_check_warns_about_a_world_readable_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeSheets(seed=3)
    sid = fake.create_spreadsheet("Practice")
    key = tmp_path / "service-account.json"
    key.write_text("{}")
    os.chmod(key, 0o644)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[workbook]\nbackend = "google"\nspreadsheet = "{sid}"\n'
        'credentials = "service-account.json"\n'
    )
    with fake.serve() as server:
        monkeypatch.setenv(ENDPOINT_ENV, server.url)
        loose = CliRunner().invoke(cli, ["check", "--config", str(config)])
        os.chmod(key, 0o600)
        tight = CliRunner().invoke(cli, ["check", "--config", str(config)])
    assert "warning:" in loose.output and "service-account.json" in loose.output
    assert "warning:" not in tight.output
