"""Building messages: every template for every event kind, text and HTML alike; FileSender."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier.alert_email import GROUPS, items, render_alert_email
from notifier.facts import Facts
from notifier.format import money, nice_date, one_line
from notifier.messages import AddressError, build, checked_address, message_id, recipients
from notifier.notices import KINDS, notice, render_notice
from notifier.outbox import FileSender
from notifier.render import Rendered
from notifier.report import chart, rejected_sessions, render_report, view
from notifier.send import SendError
from rules.events import PRACTITIONER
from rules.model import Event
from tests.fakesender import RecordingSender
from tests.mailfixtures import EVIL, NOW, TODAY, flat, parse_eml, parts, practice, visible_text

RESULT = practice()
FACTS = Facts.of(RESULT)
MINE = [e for e in RESULT.events if e.audience == PRACTITIONER]
THEIRS = [e for e in RESULT.events if e.audience != PRACTITIONER]
LINK = "https://credits.example.com/b/8f2c?x=1&y=2"


def both(rendered: Rendered) -> tuple[str, str]:
    """(text, visible HTML text), whitespace collapsed; the HTML must be well formed."""
    return flat(rendered.text), visible_text(rendered.html)


def test_the_practice_has_every_event_kind() -> None:
    kinds = {e.kind for e in RESULT.events}
    assert kinds == {k for k, _, _ in GROUPS} | KINDS


# --- the practitioner's alert email ----------------------------------------------------


def test_alert_email_groups_every_kind_in_one_email() -> None:
    rendered = render_alert_email(MINE, FACTS, currency="GBP", today=TODAY)
    text, html = both(rendered)
    for _, title, _ in GROUPS:
        assert title in text and title in html
    assert rendered.subject == f"creditsheet: {len(MINE)} things need your attention"


@pytest.mark.parametrize("kind", [k for k, _, _ in GROUPS])
def test_each_alert_email_item_states_the_same_facts_in_text_and_html(kind: str) -> None:
    events = [e for e in MINE if e.kind == kind]
    rendered = render_alert_email(events, FACTS, currency="GBP", today=TODAY)
    text, html = both(rendered)
    made = items(events, FACTS, "GBP")
    assert made
    for item in made:
        for fact in (item.title, *item.facts, item.action):
            assert fact and flat(fact) in text and flat(fact) in html, fact


EXPECTED = {
    "expiring_soon": [EVIL, "5-Session Pack", "P-0001", "3 of 5", "Fri 27 Nov 2026", "£150.00"],
    "expired_unused": ["Bob", "P-0002", "3 of 5", "Sun 1 Nov 2026", "£120.00"],
    "low": ["Cara", "P-0003", "1 of 5", "Offer Cara a new package"],
    "exhausted": [
        "Dan",
        "Duo",
        "P-0004",
        "2 of 2",
        "sell dan a new package, or add an adjust of 1",
    ],
    "rejected_session": ["Dan", "Mon 16 Nov 2026", "Sessions row 12", "no credits left on P-0004"],
    "sheet_problem": ["Sessions row 13", "'Jon' is not on the Clients tab", "Sync note"],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_alert_email_names_client_package_numbers_date_and_what_to_do(kind: str) -> None:
    rendered = render_alert_email(
        [e for e in MINE if e.kind == kind], FACTS, currency="GBP", today=TODAY
    )
    text, html = both(rendered)
    for fact in EXPECTED[kind]:
        assert fact.casefold() in text.casefold() and fact.casefold() in html.casefold(), fact
    assert "What to do:" in text and "What to do:" in html


def test_html_escapes_names() -> None:
    rendered = render_alert_email(MINE, FACTS, currency="GBP", today=TODAY)
    assert "<b>Ann</b>" not in rendered.html
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rendered.html
    assert f"{EVIL}'s 5-Session Pack" in visible_text(rendered.html)
    assert f"{EVIL}'s 5-Session Pack" in rendered.text  # text is never read as markup


def test_html_is_one_column_inline_styled_with_no_outside_assets() -> None:
    html = render_alert_email(MINE, FACTS, currency="GBP", today=TODAY).html
    assert 'name="viewport"' in html and "max-width:600px" in html
    for forbidden in ("<link", "<script", "<img", "<style", "url(", "src="):
        assert forbidden not in html


def test_structural_problem_says_nothing_was_written() -> None:
    from tests.mailfixtures import tables

    broken = tables()
    del broken["Sessions"]
    from rules.engine import compute

    result = compute(broken, today=TODAY)
    assert result.blocked
    [event] = [e for e in result.events if e.kind == "sheet_problem"]
    text, html = both(render_alert_email([event], Facts.of(result), currency="GBP", today=TODAY))
    assert "Sessions" in text and "Nothing was written to the workbook" in html


def test_one_event_alert_email_subject_is_the_event() -> None:
    [low] = [e for e in MINE if e.key == "low:p-3"]
    rendered = render_alert_email([low], FACTS, currency="GBP", today=TODAY)
    assert rendered.subject == "creditsheet: Cara's 5-Session Pack (P-0003) is running low"


def test_a_rejected_session_is_called_rejected_as_the_sheet_calls_it() -> None:
    [rejected] = [e for e in MINE if e.kind == "rejected_session"]
    rendered = render_alert_email([rejected], FACTS, currency="GBP", today=TODAY)
    text, html = both(rendered)
    # As the contract's own examples write a recent date: without this year's number.
    said = "Dan's session on Mon 16 Nov was rejected: no credits left on P-0004 (2 of 2 used)"
    assert rendered.subject == f"creditsheet: {said}"
    for part in (text, html):
        assert "Sessions rejected" in part and said in part
    for part in (rendered.subject, text, html):
        assert "not deducted" not in part.casefold()
    assert rejected.subject.endswith("was rejected: no credits left on P-0004 (2 of 2 used)")


def test_the_alert_email_calls_each_status_by_the_sheets_word() -> None:
    """`Not deducted` is the benign status; `Exhausted` is what the sheet says, not 'used up'."""
    text, html = both(render_alert_email(MINE, FACTS, currency="GBP", today=TODAY))
    for part in (text, html):
        assert "Packages exhausted" in part and "Dan's Duo (P-0004) is exhausted" in part
        assert "not deducted" not in part.casefold() and "used up" not in part.casefold()


# --- client notices -----------------------------------------------------------------


@pytest.mark.parametrize("event", THEIRS, ids=lambda e: e.key)
def test_every_notice_renders_with_the_link_in_both_parts(event: Event) -> None:
    rendered = render_notice(event, FACTS, link=LINK)
    text, html = both(rendered)
    made = notice(event, FACTS)
    for fact in (made.greeting, made.title, *made.facts, made.advice):
        assert flat(fact) in text and flat(fact) in html, fact
    assert LINK in text and LINK in html
    assert f'href="{LINK.replace("&", "&amp;")}"' in rendered.html


def test_session_notice_says_what_was_left_right_after_it() -> None:
    [first] = [e for e in THEIRS if e.key == "client-session:2026-11-14|dan|p-0004|1"]
    [last] = [e for e in THEIRS if e.key == "client-session:2026-11-15|dan|p-0004|1"]
    assert render_notice(first, FACTS).subject == "1 of 2 sessions left on your Duo"
    text, html = both(render_notice(last, FACTS))
    assert "0 of 2 sessions left on your Duo" in text and "Sat 14 Nov" not in text
    assert "last session" in html and "Sun 15 Nov 2026" in html


def test_the_contract_example_wording() -> None:
    [event] = [e for e in THEIRS if e.key == "client-session:2026-11-12|cara|p-0003|1"]
    assert render_notice(event, FACTS).subject == "2 of 5 sessions left on your 5-Session Pack"


def test_expiring_and_used_up_notices() -> None:
    [expiring] = [e for e in THEIRS if e.kind == "client_expiring"]
    [used_up] = [e for e in THEIRS if e.kind == "client_exhausted"]
    text, html = both(render_notice(expiring, FACTS))
    assert "Your 5-Session Pack expires on Fri 27 Nov 2026" in html
    assert f"Hello {EVIL}," in text and f"Hello {EVIL}," in html
    assert "Book your 3 sessions before then" in text
    assert render_notice(used_up, FACTS).subject == "Your Duo is used up"


def test_notice_without_a_link_has_no_link() -> None:
    rendered = render_notice(THEIRS[0], FACTS)
    assert "href" not in rendered.html and "balance" not in rendered.text


# --- the report --------------------------------------------------------------------------


def test_report_states_the_dashboard_in_text_and_html() -> None:
    problems = [str(p) for p in RESULT.problems]
    rendered = render_report(RESULT.dashboard, problems, currency="EUR", every="week")
    text, html = both(rendered)
    d = RESULT.dashboard
    facts = [
        "Credits outstanding",
        str(d.credits_outstanding),
        money(d.prepaid_unused, "EUR"),
        "Revenue by month of purchase",
        "Sessions used by month",
        "Oct 2026",
        "€660.00",
        "Cara: 1 credit left",
        f"{EVIL}'s 5-Session Pack (P-0001): 3 credits left, expires Fri 27 Nov 2026",
        problems[0],
    ]
    for fact in facts:
        assert fact in text and fact in html, fact
    assert rendered.subject.startswith("creditsheet: your weekly report for Sun 22 Nov 2026")
    assert "€" in rendered.subject or "things to look at" in rendered.subject


def test_report_lists_rejected_sessions_in_the_sheets_word() -> None:
    rejected = rejected_sessions(RESULT.sessions, TODAY)
    assert rejected == [
        "Dan's session on Mon 16 Nov was rejected: no credits left on P-0004 (2 of 2 used)"
    ]
    next_year = rejected_sessions(RESULT.sessions, TODAY.replace(year=2027))
    assert next_year[0].startswith("Dan's session on Mon 16 Nov 2026 was rejected")
    rendered = render_report(RESULT.dashboard, [], currency="GBP", every="week", rejected=rejected)
    text, html = both(rendered)
    for part in (text, html):
        assert "Sessions rejected" in part and rejected[0] in part
        assert "not deducted" not in part.casefold()
    quiet = render_report(RESULT.dashboard, [], currency="GBP", every="week")
    assert "Sessions rejected None." in flat(quiet.text)
    with_it = view(RESULT.dashboard, [], currency="GBP", every="week", rejected=rejected)
    without = view(RESULT.dashboard, [], currency="GBP", every="week")
    assert with_it.attention == without.attention + 1  # a rejected session needs a look
    assert f"({with_it.attention} things to look at)" in rendered.subject


def test_report_bars_are_table_cells_scaled_to_the_largest_month() -> None:
    rendered = render_report(RESULT.dashboard, [], currency="GBP", every="day")
    assert "width:100%;border-collapse" in rendered.html  # the largest month's bar
    assert "width:30%;border-collapse" in rendered.html  # Sep: £200 of £660
    assert "████████████████████ £660.00" in rendered.text
    assert "<img" not in rendered.html
    built = chart("x", [("a", 0), ("b", 1), ("c", 1000)], "count")
    assert [b.percent for b in built.bars] == [0, 1, 100]
    assert [len(b.blocks) for b in built.bars] == [0, 1, 20]
    assert built.total == "1001"


def test_report_with_nothing_to_look_at() -> None:
    from rules.engine import compute
    from tests.mailfixtures import tables

    ten = [["P-0001", "Zed", "Ten", 10, 100, "2026-11-01", None]]
    quiet = compute(tables(packages=ten, sessions=[], clients=[["Zed", ""]]), today=TODAY)
    rendered = render_report(quiet.dashboard, [], currency="USD", every="off")
    text, html = both(rendered)
    assert rendered.subject.endswith("(all in order)")
    assert "None." in text and "None." in html and "$100.00" in text and "$100.00" in html


# --- messages ------------------------------------------------------------------------------


def test_built_message_is_multipart_alternative_with_derived_message_id() -> None:
    rendered = render_alert_email(MINE, FACTS, currency="GBP", today=TODAY)
    m = build(
        rendered, dedupe_key="digest:1", sender="cs <cs@example.com>", to=["a@x.org"], now=NOW
    )
    assert m.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in m.iter_parts()] == ["text/plain", "text/html"]
    assert m["Message-ID"] == message_id("digest:1") == message_id("digest:1")
    assert message_id("digest:1") != message_id("digest:2")
    assert m["From"] == "cs <cs@example.com>" and m["To"] == "a@x.org"
    assert m["Date"].datetime == NOW and m["Subject"] == rendered.subject
    again = parse_eml(m.as_bytes())
    assert again["Subject"] == rendered.subject  # long subjects are not folded oddly
    assert {p["Content-Transfer-Encoding"] for p in again.iter_parts()} == {"quoted-printable"}
    text, html = parts(again)
    assert flat(text) == flat(rendered.text) and "&lt;b&gt;Ann&lt;/b&gt;" in html


def test_subjects_are_one_line() -> None:
    rendered = Rendered("Ann\r\nBcc: everyone@example.com", "t", "<p>t</p>")
    m = build(rendered, dedupe_key="k", sender="cs@example.com", to=["a@x.org"], now=NOW)
    assert m["Subject"] == "Ann Bcc: everyone@example.com" and m["Bcc"] is None
    assert one_line("x" * 500).endswith("…")


@pytest.mark.parametrize(
    "address",
    [
        "ann",
        "ann@example.com\nBcc: b@example.com",
        "a@x.org, b@y.org",
        "",
        "dan>@example.com",
        "dan@[example.com",
        "dan:@example.com",
    ],
)
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(AddressError):
        checked_address(address)
    with pytest.raises(AddressError):
        build(Rendered("s", "t", "h"), dedupe_key="k", sender="s@x.org", to=[address], now=NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        build(
            Rendered("s", "t", "h"),
            dedupe_key="k",
            sender="s@x.org",
            to=["a@x.org"],
            now=NOW.replace(tzinfo=None),
        )


@pytest.mark.parametrize(
    ("code", "amount", "shown"),
    [
        ("GBP", Decimal("1234.5"), "£1,234.50"),
        ("EUR", Decimal("90"), "€90.00"),
        ("USD", Decimal("0.005"), "$0.01"),
        ("CHF", Decimal("12"), "12.00 CHF"),
        ("JPY", Decimal("1200"), "¥1,200"),
    ],
)
def test_money_uses_the_practice_currency(code: str, amount: Decimal, shown: str) -> None:
    assert money(amount, code) == shown


def test_dates_read_the_same_everywhere() -> None:
    assert nice_date("2026-11-27") == "Fri 27 Nov 2026" and nice_date(None) == ""
    assert nice_date("2026-11-27", this_year=2026) == "Fri 27 Nov"
    assert nice_date("2026-11-27", this_year=2027) == "Fri 27 Nov 2026"


def test_test_email_template() -> None:
    from notifier.render import render

    rendered = render(
        "test", "creditsheet test email", when="now", how="h:25", to="a@x.org", footer="f"
    )
    text, html = both(rendered)
    assert "through h:25" in text and "through h:25" in html


# --- senders ----------------------------------------------------------------------------


def make(key: str, minutes: int) -> EmailMessage:
    return build(
        Rendered(f"subject {key}", "text", "<p>html</p>"),
        dedupe_key=key,
        sender="cs@example.com",
        to=["me@example.com", "you@example.com"],
        now=NOW + timedelta(minutes=minutes),
    )


def test_file_sender_writes_valid_sortable_files_atomically(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    sender = FileSender(outbox)
    order = [("c", 30), ("a", 0), ("b", 2), ("d", 24 * 60)]
    for key, minutes in order:
        sender.send(make(key, minutes))
    names = sorted(os.listdir(outbox))
    assert all(n.endswith(".eml") for n in names) and len(names) == 4
    assert names[0].startswith("20261122T080000Z-")
    subjects = [parse_eml((outbox / n).read_bytes())["Subject"] for n in names]
    assert subjects == ["subject a", "subject b", "subject c", "subject d"]
    again = parse_eml((outbox / names[0]).read_bytes())
    assert again["Message-ID"] == message_id("a")
    assert recipients(again) == ["me@example.com", "you@example.com"]
    assert again.get_content_type() == "multipart/alternative" and not again.defects
    sender.send(make("a", 0))  # the same message again rewrites its own file
    assert sorted(os.listdir(outbox)) == names  # and leaves no temporary file


def test_file_sender_failure_is_actionable(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(SendError) as err:
        FileSender(blocker).send(make("a", 0))
    assert "could not write the email" in str(err.value) and "retried" in str(err.value)
    assert blocker.read_text() == "a file where the folder should be"


def test_recording_sender_records_and_fails_on_demand() -> None:
    sender = RecordingSender(fail_times=2)
    for _ in range(2):
        with pytest.raises(SendError):
            sender.send(make("a", 0))
    sender.send(make("a", 0))
    assert sender.attempts == 3 and sender.subjects() == ["subject a"]


def test_a_kind_the_alert_email_does_not_know_is_still_listed() -> None:
    odd = Event("future_kind", "future:1", False, PRACTITIONER, "Something new happened")  # type: ignore[arg-type]
    rendered = render_alert_email([*MINE, odd], FACTS, currency="GBP", today=TODAY)
    text, html = both(rendered)
    assert "Other alerts" in text and "Something new happened" in html
    assert render_alert_email([odd], FACTS, currency="GBP", today=TODAY).subject.endswith(
        "Something new happened"
    )
