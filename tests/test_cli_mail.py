"""The mail side of the command line, end to end on the demo workbook.

With the file email backend each email is an .eml file in the outbox folder,
so these tests read what a practitioner would receive.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.cli import cli


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n'
        '[email]\nto = ["coach@example.com"]\nsender = "creditsheet <cs@example.com>"\n'
    )
    assert CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)]).exit_code == 0
    return config


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def outbox(config: Path) -> list[email.message.EmailMessage]:
    folder = config.parent / "outbox"
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for f in files
    ]


def text(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def test_first_sync_sends_one_email_listing_the_events_due_and_the_next_sends_none(
    practice: Path,
) -> None:
    first = invoke("sync", "--config", str(practice))
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    assert "alerts:      1 queued, 1 sent, 0 pending" in first.output  # type: ignore[attr-defined]
    sent = outbox(practice)
    assert len(sent) == 1
    body = text(sent[0])
    assert sent[0]["To"] == "coach@example.com"
    for fact in (
        "Sofia Alvarez",
        "Liam O'Connor",
        "Maya Patel",
        "Priya Shah",
        "Tom Becker",
        "Maya Patell",
    ):
        assert fact in body, fact
    second = invoke("sync", "--config", str(practice))
    assert "alerts:      0 queued, 0 sent, 0 pending" in second.output  # type: ignore[attr-defined]
    assert len(outbox(practice)) == 1


def test_report_prints_and_sends_figures_matching_the_dashboard(practice: Path) -> None:
    invoke("sync", "--config", str(practice))
    printed = invoke("report", "--config", str(practice))
    assert printed.exit_code == 0, printed.output  # type: ignore[attr-defined]
    sent = invoke("report", "--send", "--config", str(practice))
    assert sent.exit_code == 0, sent.output  # type: ignore[attr-defined]
    assert "sent the report to coach@example.com" in sent.output  # type: ignore[attr-defined]
    import openpyxl

    dashboard = openpyxl.load_workbook(practice.parent / "practice.xlsx")["Dashboard"]
    figures = {row[0]: row[1] for row in dashboard.iter_rows(values_only=True) if row and row[0]}
    reports = [m for m in outbox(practice) if "report" in m["Subject"]]
    assert len(reports) == 1
    report = text(reports[0])
    assert "Credits outstanding" in printed.output  # type: ignore[attr-defined]
    assert f"Credits outstanding: {figures['Credits outstanding']}" in report
    assert f"£{figures['Prepaid value not yet used (GBP)']:,.2f}" in report


def test_test_email_goes_through_the_configured_backend(practice: Path) -> None:
    result = invoke("test-email", "--config", str(practice))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "to coach@example.com via" in result.output  # type: ignore[attr-defined]
    assert len(outbox(practice)) == 1


def test_status_shows_the_last_cycles(practice: Path) -> None:
    before = invoke("status", "--config", str(practice))
    assert "daemon: not running" in before.output  # type: ignore[attr-defined]
    assert "no cycle has run yet" in before.output  # type: ignore[attr-defined]
    invoke("sync", "--config", str(practice))
    after = invoke("status", "--config", str(practice))
    assert after.exit_code == 0, after.output  # type: ignore[attr-defined]
    assert "ok" in after.output  # type: ignore[attr-defined]


def test_a_dry_run_queues_no_alert_and_creates_no_state(practice: Path) -> None:
    invoke("sync", "--dry-run", "--config", str(practice))
    assert outbox(practice) == []
    assert not (practice.parent / "creditsheet-state.sqlite").exists()


def test_client_notices_each_client_with_an_email_gets_their_balance_once(
    practice: Path,
) -> None:
    with practice.open("a") as f:
        f.write("[notify]\nclients = true\n")
    invoke("sync", "--config", str(practice))
    to_clients = [m for m in outbox(practice) if m["To"] != "coach@example.com"]
    by_client = {(m["To"], m["Subject"]) for m in to_clients}
    # Sessions of the last 14 days (Anh, Priya, Maya's no-show), Sofia's pack
    # expiring, Tom's used up.
    assert {to for to, _ in by_client} == {
        "anh@example.com",
        "maya@example.com",
        "priya@example.com",
        "sofia@example.com",
        "tom@example.com",
    }
    priya = next(m for m in to_clients if m["To"] == "priya@example.com")
    assert "2 of 3 sessions left on your Intro Pack" in text(priya)
    invoke("sync", "--config", str(practice))
    assert len([m for m in outbox(practice) if m["To"] != "coach@example.com"]) == len(to_clients)
