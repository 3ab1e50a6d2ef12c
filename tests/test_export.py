"""`creditsheet export`: the accountant's ledger, its sums, and the files it writes."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from rules.accounts import Accounts, MonthLine, PackageLine, SessionLine, accounts
from rules.engine import compute
from sync.cli import cli
from sync.export import MONTH_COLUMNS, PACKAGE_COLUMNS, SESSION_COLUMNS, write
from tests.mailfixtures import practice as mail_practice
from tests.test_cli_options import write_practice
from tests.workbooks import TODAY, tables

EVIL = '=HYPERLINK("https://evil.example","x")'


def books_of(**rows: object) -> Accounts:
    return accounts(compute(tables(**rows), today=TODAY))  # type: ignore[arg-type]


SMALL = {
    "clients": [{"Client": "Ann"}, {"Client": "Bob"}],
    "packages": [
        # 5 for £250 (£50 a credit), bought in September; 3 used, 2 left.
        {"Package ID": "P-1", "Client": "Ann", "Sessions": 5, "Price": 250,
         "Purchased": "2026-09-10"},
        # 4 for £100 plus a goodwill credit (£20 a credit); expired in November, 3 unused.
        {"Package ID": "P-2", "Client": "Bob", "Sessions": 4, "Adjust": 1, "Price": 100,
         "Purchased": "2026-09-01", "Expires": "2026-11-01"},
    ],
    "sessions": [
        {"Date": "2026-09-15", "Client": "Ann"},
        {"Date": "2026-10-15", "Client": "Ann"},
        {"Date": "2026-10-20", "Client": "Bob"},
        {"Date": "2026-10-21", "Client": "Bob", "Outcome": "Cancelled"},
        {"Date": "2026-11-02", "Client": "Bob", "Package ID": "P-2"},  # after expiry
        {"Date": "2026-11-05", "Client": "Ann"},
        {"Date": "2026-11-30", "Client": "Ann", "Package ID": "P-1"},  # booked ahead
    ],
}  # fmt: skip


def test_the_ledger_of_a_small_practice_line_by_line() -> None:
    books = books_of(**SMALL)
    p1, p2 = books.packages
    assert (p1.package_id, p1.client, p1.bought, p1.credits, p1.used, p1.remaining) == (
        "P-1", "Ann", 5, 5, 4, 1,
    )  # fmt: skip
    assert (p1.status, p1.per_credit, p1.value_left, p1.value_expired) == (
        "Low", Decimal(50), Decimal(50), Decimal(0),
    )  # fmt: skip
    assert (p2.adjust, p2.credits, p2.used, p2.remaining, p2.status) == (1, 5, 1, 4, "Expired")
    assert (p2.per_credit, p2.value_left, p2.value_expired) == (Decimal(20), 0, Decimal(80))
    by_row = {s.row: s for s in books.sessions}
    assert (by_row[2].package_id, by_row[2].credits, by_row[2].value) == ("P-1", 1, Decimal(50))
    assert (by_row[5].status, by_row[5].package_id, by_row[5].value) == ("Not deducted", "", None)
    rejected = by_row[6]
    assert (rejected.status, rejected.package_id, rejected.credits) == ("Rejected", "", 0)
    assert rejected.note.startswith("P-2 expired on 2026-11-01")
    months = {m.month: m for m in books.months}
    assert list(months) == ["2026-09", "2026-10", "2026-11"]  # to today's month
    sep, oct_, nov = months["2026-09"], months["2026-10"], months["2026-11"]
    assert (sep.packages_sold, sep.credits_sold, sep.sales) == (2, 10, Decimal(350))
    assert (sep.sessions_used, sep.value_used, sep.liability) == (1, Decimal(50), Decimal(300))
    assert (oct_.sessions_used, oct_.value_used, oct_.liability) == (2, Decimal(70), Decimal(230))
    assert (nov.credits_expired, nov.value_expired) == (4, Decimal(80))
    # November so far (today is the 20th): Ann's session of the 5th; the one booked
    # for the 30th is not in yet, so 2 of Ann's credits are outstanding today.
    assert (nov.sessions_used, nov.credits_outstanding, nov.liability) == (1, 2, Decimal(100))
    assert books.problems == ()


TYPED = {
    "clients": [{"Client": "Ann"}, {"Client": "Bob"}, {"Client": "Cat"}, {"Client": "Dan"}],
    "types": [{"Type": "1-on-1"}, {"Type": "Massage 90", "Credits": 2}],
    "packages": [
        # 10 credits for £500 (£50 a credit).
        {"Package ID": "P-1", "Client": "Ann", "Sessions": 10, "Price": 500,
         "Purchased": "2026-09-01"},
        # A pass of 100 days for £300: £3 a day, in a straight line.
        {"Package ID": "P-2", "Client": "Bob", "Package": "Unlimited 100", "Sessions": "Unlimited",
         "Price": 300, "Purchased": "2026-10-01", "Expires": "2027-01-09"},
        # 4 credits for £200, expired on 1 November with 2 credits unused.
        {"Package ID": "P-3", "Client": "Cat", "Sessions": 4, "Price": 200,
         "Purchased": "2026-09-01", "Expires": "2026-11-01"},
        # 3 credits for £90 (£30 a credit): one massage, and 1 credit is too few for another.
        {"Package ID": "P-4", "Client": "Dan", "Sessions": 3, "Price": 90,
         "Purchased": "2026-10-01"},
    ],
    "sessions": [
        {"Date": "2026-09-10", "Client": "Ann", "Type": "Massage 90"},
        {"Date": "2026-09-20", "Client": "Cat", "Type": "Massage 90"},
        {"Date": "2026-10-02", "Client": "Dan", "Type": "Massage 90"},
        {"Date": "2026-10-03", "Client": "Dan", "Type": "Massage 90"},  # 1 credit left
        {"Date": "2026-10-05", "Client": "Ann", "Type": "1-on-1"},
        {"Date": "2026-10-10", "Client": "Bob", "Type": "Massage 90"},  # on the pass
        {"Date": "2026-11-03", "Client": "Bob"},
        {"Date": "2026-11-10", "Client": "Ann", "Type": "Massage 90"},
        {"Date": "2026-11-25", "Client": "Ann", "Type": "Massage 90"},  # booked ahead
    ],
}  # fmt: skip


def test_sessions_use_their_types_credits_and_a_pass_is_used_by_time() -> None:
    books = books_of(**TYPED)
    p1, p2, p3, p4 = books.packages
    assert (p1.credits, p1.used, p1.remaining, p1.status) == (10, 7, 3, "Active")
    assert (p1.per_credit, p1.value_left, p1.value_expired) == (50, Decimal(150), 0)
    # The pass: no credits to count, its used sessions' credits, half its term ahead.
    assert (p2.bought, p2.credits, p2.remaining, p2.used) == (
        "Unlimited", "Unlimited", "Unlimited", 3,
    )  # fmt: skip
    assert (p2.status, p2.per_credit, p2.value_left, p2.value_expired) == (
        "Active", None, Decimal(150), 0,
    )  # fmt: skip
    assert (p3.status, p3.remaining, p3.value_left, p3.value_expired) == ("Expired", 2, 0, 100)
    assert (p4.used, p4.remaining, p4.value_left) == (2, 1, Decimal(30))
    by_row = {s.row: (s.package_id, s.credits, s.value) for s in books.sessions}
    assert by_row[2] == ("P-1", 2, Decimal(100))  # a massage: 2 credits at £50
    assert by_row[6] == ("P-1", 1, Decimal(50))
    assert by_row[4] == ("P-4", 2, Decimal(60))
    assert by_row[5] == ("", 0, None)  # rejected: it took nothing
    assert by_row[7] == ("P-2", 2, None) and by_row[8] == ("P-2", 1, None)  # by time, not credit
    months = {m.month: m for m in books.months}
    sep, oct_, nov = months["2026-09"], months["2026-10"], months["2026-11"]
    assert (sep.packages_sold, sep.credits_sold, sep.sales) == (2, 14, Decimal(700))
    assert (sep.sessions_used, sep.credits_used, sep.value_used) == (2, 4, Decimal(200))
    assert (sep.credits_outstanding, sep.liability) == (10, Decimal(500))
    # October: the pass is sold (no credits) and 30 of its 100 days pass: £90 used.
    assert (oct_.packages_sold, oct_.credits_sold, oct_.sales) == (2, 3, Decimal(390))
    assert (oct_.sessions_used, oct_.credits_used, oct_.value_used) == (3, 3, Decimal(50 + 60 + 90))
    # Left at the end of October: 7 x £50 + 2 x £50 + 1 x £30, and 70 days of the pass.
    assert (oct_.credits_outstanding, oct_.liability) == (10, Decimal(350 + 100 + 30 + 210))
    # November to today (the 20th): a massage of Ann's and 20 days of the pass are used,
    # and Cat's 2 credits expire; the pass never expires unused.
    assert (nov.sessions_used, nov.credits_used, nov.value_used) == (2, 2, Decimal(100 + 60))
    assert (nov.credits_expired, nov.value_expired) == (2, Decimal(100))
    assert (nov.credits_outstanding, nov.liability) == (6, Decimal(250 + 30 + 150))


def test_a_pass_is_used_up_over_its_term_and_never_expires_unused() -> None:
    books = accounts(compute(tables(**TYPED), today=date(2027, 3, 1)))  # type: ignore[arg-type]
    pass_ = next(p for p in books.packages if p.package_id == "P-2")
    assert (pass_.status, pass_.value_left, pass_.value_expired) == ("Expired", 0, 0)
    months = {m.month: m for m in books.months}
    # 31 days of December at £3, then the last 9 days of the term in January.
    assert months["2026-12"].value_used == Decimal(93)
    assert (months["2027-01"].value_used, months["2027-01"].value_expired) == (Decimal(27), 0)
    assert months["2027-01"].liability == Decimal(150 + 30)  # Ann's 3 credits, Dan's 1
    assert sum((m.value_expired for m in books.months), Decimal(0)) == Decimal(100)


def test_the_packages_with_a_pass_add_up_to_the_dashboard() -> None:
    result = compute(tables(**TYPED), today=TODAY)  # type: ignore[arg-type]
    books = accounts(result)
    left = sum((p.value_left or 0 for p in books.packages), Decimal(0))
    assert left.quantize(Decimal("0.01")) == result.dashboard.prepaid_unused == Decimal(330)
    counted = [p.remaining for p in books.packages if p.status != "Expired"]
    assert sum(n for n in counted if isinstance(n, int)) == result.dashboard.credits_outstanding
    assert "Unlimited" in counted


def test_a_pass_and_two_credit_sessions_in_the_xlsx_and_csv_files(tmp_path: Path) -> None:
    books = books_of(**TYPED)
    xlsx = write(books, tmp_path / "ledger.xlsx", currency="GBP", source="practice.xlsx")
    text = write(books, tmp_path / "ledger.csv", currency="GBP", source="practice.xlsx")
    book = openpyxl.load_workbook(xlsx)
    rows = [[c.value for c in row] for row in book["Packages"].iter_rows()]
    header, by_id = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    pass_ = by_id["P-2"]
    assert (pass_["Credits bought"], pass_["Credits"], pass_["Remaining"]) == (
        "Unlimited", "Unlimited", "Unlimited",
    )  # fmt: skip
    assert (pass_["Used"], pass_["Price per credit"], pass_["Prepaid value left"]) == (3, None, 150)
    assert (by_id["P-1"]["Remaining"], by_id["P-1"]["Prepaid value left"]) == (3, 150)
    sessions = [[c.value for c in row] for row in book["Sessions"].iter_rows()]
    named = [dict(zip(sessions[0], r, strict=True)) for r in sessions[1:]]
    assert [(s["Package ID"], s["Credits used"], s["Value used"]) for s in named[:2]] == [
        ("P-1", 2, 100), ("P-3", 2, 100),
    ]  # fmt: skip
    assert (named[5]["Package ID"], named[5]["Credits used"], named[5]["Value used"]) == (
        "P-2", 2, None,
    )  # fmt: skip
    months = [[c.value for c in row] for row in book["Months"].iter_rows()]
    assert months[0][4:6] == ["Sessions used", "Credits used"]
    assert [m[0] for m in months[1:]] == ["2026-09", "2026-10", "2026-11"]
    assert months[2][4:7] == [3, 3, 200] and months[3][-2:] == [6, 430]
    # The .csv file holds the same figures, amounts in pounds and pence.
    lines = list(csv.reader(io.StringIO(text.read_text(encoding="utf-8-sig"))))
    by_first = {r[0]: r for r in lines if r}
    assert header == lines[1]
    assert by_first["P-2"][7:16] == [
        "Unlimited", "0", "Unlimited", "3", "Unlimited", "Active", "", "150.00", "0.00",
    ]  # fmt: skip
    assert by_first["2026-10"][1:] == [
        "2", "3", "390.00", "3", "3", "200.00", "0", "0.00", "10", "690.00",
    ]  # fmt: skip
    assert by_first["Unlimited passes"][1].startswith("used in a straight line over their term")


@pytest.mark.parametrize(
    "result",
    [
        compute(tables(**SMALL), today=TODAY),  # type: ignore[arg-type]
        mail_practice(),
        compute(tables(**SMALL), today=date(2027, 3, 1)),  # type: ignore[arg-type]
        compute(tables(**TYPED), today=TODAY),  # type: ignore[arg-type]
        compute(tables(**TYPED), today=date(2026, 12, 31)),  # type: ignore[arg-type]
        compute(tables(**TYPED), today=date(2027, 3, 1)),  # type: ignore[arg-type]
    ],
    ids=[
        "small",
        "mail practice",
        "months later",
        "types and a pass",
        "pass month end",
        "pass expired",
    ],
)
def test_sales_less_value_used_and_expired_is_the_liability_every_month(result: object) -> None:
    books = accounts(result)  # type: ignore[arg-type]
    assert books.months
    running = Decimal(0)
    for m in books.months:
        running += m.sales - m.value_used - m.value_expired
        assert running == m.liability, m.month
    # Today the liability is what the packages' credits left are worth, as on the
    # Dashboard, less what sessions booked ahead of today hold.
    ahead = sum((s.value or 0 for s in books.sessions if s.date > books.today), Decimal(0))
    assert (
        books.months[-1].liability
        == sum((p.value_left or 0 for p in books.packages), Decimal(0)) + ahead
    )
    dashboard = result.dashboard.prepaid_unused  # type: ignore[attr-defined]
    assert (
        sum((p.value_left or 0 for p in books.packages), Decimal(0)).quantize(Decimal("0.01"))
        == dashboard
    )


def test_rows_with_problems_are_named_not_guessed() -> None:
    books = books_of(
        clients=[{"Client": "Ann"}],
        packages=[{"Package ID": "P-1", "Client": "Anne", "Sessions": 5}],
        sessions=[{"Date": "2026-11-01", "Client": "Ann"}],
    )
    assert books.packages == ()
    assert any("Packages row 2" in p and "Anne" in p for p in books.problems)


# --- the command ----------------------------------------------------------------------


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    return write_practice(tmp_path / "practice")


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_every_ledger_field_has_its_column() -> None:
    for line, columns in (
        (PackageLine, PACKAGE_COLUMNS),
        (SessionLine, SESSION_COLUMNS),
        (MonthLine, MONTH_COLUMNS),
    ):
        assert len(fields(line)) == len(columns), line.__name__


def test_export_to_xlsx_has_a_tab_per_table_with_real_dates_and_numbers(
    practice: Path, tmp_path: Path
) -> None:
    workbook = practice.parent / "practice.xlsx"
    before = workbook.read_bytes()
    target = tmp_path / "ledger.xlsx"
    result = invoke("export", "--to", str(target), "--config", str(practice))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert f"wrote the ledger to {target}: 9 packages, 38 sessions, " in out
    assert "note: 1 row with problems is not in the ledger until fixed" in out
    assert workbook.read_bytes() == before  # nothing written to the workbook
    assert not (practice.parent / "creditsheet-state.sqlite").exists()
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Packages", "Sessions", "Months", "About"]
    packages = book["Packages"]
    header = [c.value for c in packages[1]]
    assert header[:4] == ["Package ID", "Client", "Shared with", "Package"]
    assert packages.freeze_panes == "A2"
    first = dict(zip(header, (c for c in packages[2]), strict=True))
    assert first["Package ID"].value == "P-0001" and first["Client"].value == "Maya Patel"
    assert isinstance(first["Purchased"].value, datetime)
    assert first["Purchased"].number_format == "yyyy-mm-dd"
    assert first["Price"].value == 250 and first["Price"].number_format == "#,##0.00"
    assert first["Status"].value == "Low"
    months = [[c.value for c in row] for row in book["Months"].iter_rows(min_row=2)]
    assert months and all(isinstance(m[3], int | float) for m in months)
    about = {r[0].value: r[1].value for r in book["About"].iter_rows()}
    assert about["Amounts in"] == "GBP" and "Maya Patell" in about["Not in the ledger until fixed"]


def test_export_never_replaces_a_file_without_force(practice: Path, tmp_path: Path) -> None:
    target = tmp_path / "ledger.csv"
    target.write_text("the accountant's own notes")
    refused = invoke("export", "--to", str(target), "--config", str(practice))
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert f"Error: {target} already exists: pass --force to replace it" in (
        refused.output  # type: ignore[attr-defined]
    )
    assert target.read_text() == "the accountant's own notes"
    forced = invoke("export", "--to", str(target), "--force", "--config", str(practice))
    assert forced.exit_code == 0, forced.output  # type: ignore[attr-defined]
    assert target.read_bytes().decode("utf-8-sig").startswith("Packages\r\nPackage ID,Client,")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file


def test_export_never_writes_over_the_workbook_or_state_even_with_force(practice: Path) -> None:
    workbook = practice.parent / "practice.xlsx"
    before = workbook.read_bytes()
    for target, what in (
        (workbook, "the workbook"),
        (practice.parent / "creditsheet-state.sqlite", "the state store"),
    ):
        result = invoke("export", "--to", str(target), "--force", "--config", str(practice))
        assert result.exit_code == 2  # type: ignore[attr-defined]
        assert f"is {what}: the ledger never replaces it" in result.output  # type: ignore[attr-defined]
    assert workbook.read_bytes() == before


def test_export_names_the_formats_it_writes(practice: Path, tmp_path: Path) -> None:
    result = invoke("export", "--to", str(tmp_path / "ledger.ods"), "--config", str(practice))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "written as .xlsx or .csv" in result.output  # type: ignore[attr-defined]


def test_export_default_name_is_dated_in_the_current_folder(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = invoke("export", "-q", "--config", str(practice))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert result.output == ""  # type: ignore[attr-defined]
    [made] = list(here.iterdir())
    assert made.name.startswith("ledger-20") and made.suffix == ".xlsx"


def test_csv_on_standard_output_is_the_csv_file(practice: Path, tmp_path: Path) -> None:
    printed = invoke("export", "--to", "-", "--config", str(practice))
    assert printed.exit_code == 0, printed.output  # type: ignore[attr-defined]
    target = tmp_path / "ledger.csv"
    assert invoke("export", "--to", str(target), "--config", str(practice)).exit_code == 0  # type: ignore[attr-defined]
    assert printed.stdout == target.read_text(encoding="utf-8-sig").replace("\r\n", "\n")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(printed.stdout)))  # type: ignore[attr-defined]
    titles = [r[0] for r in rows if len(r) == 1]
    assert titles == ["Packages", "Sessions", "Months", "About"]


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "practice.xlsx"\n')
    assert invoke("init", "--config", str(config)).exit_code == 0  # type: ignore[attr-defined]
    wb = openpyxl.load_workbook(tmp_path / "practice.xlsx")
    for tab, row in (
        ("Clients", [EVIL]),
        ("Packages", ["P-0001", EVIL, "-5 pack", None, 5, 90, date(2026, 11, 1)]),
        ("Sessions", [date(2026, 11, 2), EVIL]),
    ):
        ws = wb[tab]
        for col, value in enumerate(row, start=1):
            cell = ws.cell(2, col, value)
            cell.data_type = "s" if isinstance(value, str) else cell.data_type
    wb.save(tmp_path / "practice.xlsx")
    xlsx, text = tmp_path / "ledger.xlsx", tmp_path / "ledger.csv"
    for target in (xlsx, text):
        result = invoke("export", "--to", str(target), "--config", str(config))
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    ws = openpyxl.load_workbook(xlsx)["Packages"]
    assert (ws["B2"].value, ws["B2"].data_type) == (EVIL, "s")
    assert (ws["D2"].value, ws["D2"].data_type) == ("-5 pack", "s")
    rows = list(csv.reader(io.StringIO(text.read_text(encoding="utf-8-sig"))))
    assert rows[2][1] == "'" + EVIL and rows[2][3] == "'-5 pack"
    assert rows[2][6] == "90.00"  # numbers are numbers


def test_a_broken_structure_writes_no_ledger(practice: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(practice.parent / "practice.xlsx")
    wb["Sessions"].title = "Appointments"
    wb.save(practice.parent / "practice.xlsx")
    target = tmp_path / "ledger.xlsx"
    result = invoke("export", "--to", str(target), "--config", str(practice))
    assert result.exit_code == 3  # type: ignore[attr-defined]
    assert "the 'Sessions' tab is missing" in result.output  # type: ignore[attr-defined]
    assert not target.exists()


def test_the_help_has_an_example() -> None:
    out = CliRunner().invoke(cli, ["export", "--help"]).output
    assert "Example:\n      creditsheet export --to ledger-2026.xlsx" in out
    assert "--force" in out
