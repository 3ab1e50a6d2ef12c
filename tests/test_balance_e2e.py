"""The balance page end to end: the link the sync writes is the page serve shows."""

from __future__ import annotations

import html
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from sync.cli import cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    """The status and the page's visible text (tags dropped, spaces folded)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read().decode()
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    return status, " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_each_client_sees_their_own_balance_at_the_link_in_their_row(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        '[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n'
        f'[balance]\nenabled = true\nbase_url = "http://127.0.0.1:{port}"\n'
        f'listen = "127.0.0.1:{port}"\n'
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--demo", "--config", str(config)]).exit_code == 0
    synced = runner.invoke(cli, ["sync", "--config", str(config)])
    assert synced.exit_code == 0, synced.output
    ws = openpyxl.load_workbook(tmp_path / "practice.xlsx")["Clients"]
    header = [c.value for c in ws[1]]
    rows = {
        r[0]: r[header.index("Balance link")] for r in ws.iter_rows(min_row=2, values_only=True)
    }
    maya, tom = rows["Maya Patel"], rows["Tom Becker"]
    assert maya.startswith(f"http://127.0.0.1:{port}/") and maya != tom
    # Nothing about the client in the link (her surname: long enough that a random
    # token cannot hold it by chance, as it could "maya").
    assert "patel" not in maya.lower()

    server = subprocess.Popen(
        [sys.executable, "-m", "sync", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, page = get(maya)
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert status == 200
        assert "Maya" in page and "2 of 5 sessions left" in page
        assert "Tom" not in page
        status, page = get(tom)
        assert status == 200 and "Tom" in page and "Maya" not in page
        assert "0 of 5 sessions left" in page

        rotated = runner.invoke(cli, ["balance", "rotate", "maya patel", "--config", str(config)])
        assert rotated.exit_code == 0, rotated.output
        new_link = rotated.output.strip()
        assert new_link != maya
        assert get(maya)[0] == 404
        assert get(new_link)[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
