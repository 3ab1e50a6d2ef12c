"""Client notices and balance pages with credit costs, unlimited passes and a renewal link.

The renewal link (``[notify] renew_url``) goes in the notices of a package running
low or used up, in the notice of a session rejected for want of credits, and on
the balance page; never in a plain session notice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from notifier.facts import Facts
from notifier.notices import render_notice
from rules.model import Event, Result
from sync.alerts import messages_for
from sync.balance.pages import ClientPage, pages_of
from sync.balance.render import page_html
from sync.config import Config, ConfigError, load
from tests.mailfixtures import flat, visible_text
from tests.workbooks import run

RENEW = "https://example.com/book?from=notice"
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
ANN = {"Client": "Ann Lee", "Email": "ann@example.com"}
TYPES = [{"Type": "Group"}, {"Type": "Massage 90", "Credits": 2}]


def practice() -> Result:
    packages = [
        {"Package ID": "P-0001", "Client": "Ann Lee", "Package": "5-Session Pack", "Sessions": 5,
         "Purchased": date(2026, 10, 1)},
        {"Package ID": "P-0002", "Client": "Ann Lee", "Package": "Monthly Unlimited",
         "Sessions": "Unlimited", "For": "Group", "Purchased": date(2026, 11, 1),
         "Expires": date(2026, 11, 25)},
    ]  # fmt: skip
    sessions = [
        {"Date": date(2026, 11, 10), "Client": "Ann Lee", "Type": "Massage 90"},
        {"Date": date(2026, 11, 12), "Client": "Ann Lee", "Type": "Massage 90"},
        {"Date": date(2026, 11, 14), "Client": "Ann Lee", "Type": "Group"},
        {"Date": date(2026, 11, 16), "Client": "Ann Lee"},
        {"Date": date(2026, 12, 8), "Client": "Ann Lee", "Type": "Massage 90"},
    ]
    return run([ANN], packages, sessions, today=date(2026, 11, 20), types=TYPES,
               client_notices=True).result  # fmt: skip


RESULT = practice()
FACTS = Facts.of(RESULT)


def event(kind: str, **details: object) -> Event:
    found = [
        e
        for e in RESULT.events
        if e.kind == kind and all(e.details.get(k) == v for k, v in details.items())
    ]
    assert len(found) == 1, [e.subject for e in RESULT.events]
    return found[0]


def both(kind: str, **details: object) -> tuple[str, str, str]:
    rendered = render_notice(event(kind, **details), FACTS, renew_url=RENEW)
    return rendered.subject, flat(rendered.text), visible_text(rendered.html)


def test_a_session_notice_counts_credits_and_a_low_package_carries_the_renewal_link() -> None:
    subject, text, html = both("client_session", date="2026-11-16")
    assert subject == "0 of 5 credits left on your 5-Session Pack"
    for shown in (text, html):
        assert "Credits left: 0 of 5" in shown
    assert f"Book more: {RENEW}" in text and "Book more" in html and RENEW in html


def test_a_session_notice_with_credits_left_has_no_renewal_link() -> None:
    subject, text, html = both("client_session", date="2026-11-10")
    assert subject == "3 of 5 credits left on your 5-Session Pack"
    assert RENEW not in text and RENEW not in html


def test_a_session_on_a_pass_says_until_when() -> None:
    subject, text, _ = both("client_session", date="2026-11-14")
    assert subject == "Session on your Monthly Unlimited: unlimited until Wed 25 Nov 2026"
    assert "left" not in subject and RENEW not in text


def test_a_used_up_package_carries_the_renewal_link() -> None:
    subject, text, html = both("client_exhausted")
    assert subject == "Your 5-Session Pack is used up"
    assert RENEW in text and RENEW in html


def test_a_rejected_session_tells_the_client_with_the_renewal_link() -> None:
    subject, text, html = both("client_rejected")
    assert subject == "Your 5-Session Pack is used up: your session on Tue 8 Dec is not covered"
    assert "Session: Tue 8 Dec 2026" in text and "Session: Tue 8 Dec 2026" in html
    assert RENEW in text and RENEW in html


def test_a_pass_about_to_expire_tells_no_credits_left() -> None:
    subject, text, _ = both("client_expiring", package_id="P-0002")
    assert subject == "Your Monthly Unlimited expires on Wed 25 Nov 2026"
    assert "left" not in text.split("Hello Ann Lee,", 1)[1].split("--")[0].replace(
        "Renew it before then", ""
    )


def test_without_renew_url_no_notice_has_a_renewal_link() -> None:
    rendered = render_notice(event("client_exhausted"), FACTS)
    assert "Book more" not in rendered.text and "Book more" not in rendered.html


def test_the_configured_renew_url_reaches_the_clients_messages() -> None:
    config = Config.model_validate(
        {"email": {"to": ["me@example.com"]}, "notify": {"clients": True, "renew_url": RENEW}}
    )
    made = messages_for(list(RESULT.events), RESULT, config, NOW)
    to_ann = [o.message for o in made if o.message["To"] == "ann@example.com"]
    assert {str(m["Subject"]) for m in to_ann} >= {
        "Your 5-Session Pack is used up",
        "Your 5-Session Pack is used up: your session on Tue 8 Dec is not covered",
    }
    with_link = [m for m in to_ann if RENEW in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    # The two sessions that left it low (1 left) and used up, used up, the rejected session.
    assert len(with_link) == 4


@pytest.mark.parametrize("bad", ["example.com/book", "ftp://example.com", "https://"])
def test_renew_url_must_be_an_http_address(tmp_path: object, bad: str) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "config.toml"
    path.write_text(f'[notify]\nrenew_url = "{bad}"\n')
    with pytest.raises(ConfigError, match="renew_url"):
        load(path)


# --- the balance page ------------------------------------------------------------------


def test_the_balance_page_shows_a_pass_credits_and_the_renewal_link() -> None:
    page = pages_of(RESULT, NOW, renew_url=RENEW)["ann lee"]
    assert page.unlimited and page.credits_left == 0 and page.unit == "credit"
    lines = {line.name: line for line in page.packages}
    assert lines["Monthly Unlimited"].unlimited and lines["Monthly Unlimited"].used == 1
    assert lines["5-Session Pack"].unit == "credit"
    html = page_html(page)
    shown = visible_text(html)
    assert "Unlimited sessions" in shown
    assert "0 of 5 credits left" in shown
    assert "Unlimited sessions · 1 used" in shown
    assert f'href="{RENEW}"' in html.replace("&amp;", "&") and "Book more sessions" in shown
    assert ClientPage.from_json(page.to_json()) == page


def test_a_balance_page_without_renew_url_has_no_renewal_link() -> None:
    page = pages_of(RESULT, NOW)["ann lee"]
    assert "Book more sessions" not in visible_text(page_html(page))


# --- the practitioner's side -------------------------------------------------------------


def test_the_report_states_the_value_expired_unused() -> None:
    from notifier.report import render_report

    packages = [
        {"Client": "Ann Lee", "Sessions": 4, "Price": 100, "Purchased": date(2026, 6, 1),
         "Expires": date(2026, 11, 1)},
    ]  # fmt: skip
    result = run([ANN], packages, [{"Date": date(2026, 7, 1), "Client": "Ann Lee"}]).result
    rendered = render_report(result.dashboard, [], currency="GBP", every="week")
    assert "Value expired unused, last 12 months: £75.00" in flat(rendered.text)
    html = visible_text(rendered.html)
    assert "Value expired unused, last 12 months" in html and "£75.00" in html


@pytest.mark.parametrize(
    ("note", "advice"),
    [
        ("P-0003 is for 1-on-1, not Group", "Check the session's Type"),
        ("no package for Group with credits left on 2026-11-20", "Check the session's Type"),
        (
            "P-0004: 3 of 3 sessions in the week of 2026-11-16 already used",
            "Per week limit is reached",
        ),
    ],
)
def test_the_alert_email_says_what_to_do_about_a_type_or_weekly_rejection(
    note: str, advice: str
) -> None:
    from notifier.alert_email import item

    rejected = Event(
        "rejected_session",
        "rejected:x",
        False,
        "practitioner",
        "x",
        {"client": "Ann Lee", "date": "2026-11-20", "row": 3, "reason": note},
    )
    assert advice in item(rejected, Facts(), "GBP").action
