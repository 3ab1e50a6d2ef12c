"""``creditsheet export``: the accountant's ledger written as a new .xlsx or .csv file.

    books = rules.accounts.accounts(result)
    where = write(books, Path("ledger.xlsx"), currency="GBP", source="practice.xlsx")

    said = export(config, backend, "ledger.xlsx", now=now)   # the command: read, then write

The .xlsx file has one tab per table (Packages, Sessions, Months) and an
About tab; the .csv file has the same tables one under the other, each under
its title, so it opens as one sheet. Both are new files: written beside the
target and moved into place whole, and an existing file is replaced only with
``force``. Text is always text: a cell starting with ``=`` is never a formula
(in the .csv, such a cell starts with an apostrophe, as spreadsheet programs
expect).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

from notifier.format import WHOLE
from rules.accounts import Accounts, MonthLine, PackageLine, SessionLine, accounts
from rules.words import plural
from sync.backends.base import Backend
from sync.config import Config
from sync.cycle import run_cycle
from sync.errors import EXIT_CONFIG, EXIT_WORKBOOK, CreditsheetError

Cell = str | int | Decimal | date | None
FORMATS = (".xlsx", ".csv")
#: Characters that make a spreadsheet program read a CSV cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(CreditsheetError):
    """The ledger cannot be written where asked; the message says what to do."""

    exit_status = EXIT_CONFIG


class NoLedger(ExportError):
    """The workbook's structure is broken: there is no ledger to write."""

    exit_status = EXIT_WORKBOOK


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    kind: str  # "text", "int" (or the text Unlimited, for a pass), "money", "date"


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _cols(*spec: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(title, kind) for title, kind in spec)


#: One column per field of the ledger's lines, in the same order (see ``_row``).
PACKAGE_COLUMNS = _cols(
    ("Package ID", "text"),
    ("Client", "text"),
    ("Shared with", "text"),
    ("Package", "text"),
    ("Purchased", "date"),
    ("Expires", "date"),
    ("Price", "money"),
    ("Credits bought", "int"),
    ("Adjust", "int"),
    ("Credits", "int"),
    ("Used", "int"),
    ("Remaining", "int"),
    ("Status", "text"),
    ("Price per credit", "money"),
    ("Prepaid value left", "money"),
    ("Value expired unused", "money"),
)
SESSION_COLUMNS = _cols(
    ("Sessions row", "int"),
    ("Date", "date"),
    ("Client", "text"),
    ("Outcome", "text"),
    ("Status", "text"),
    ("Package ID", "text"),
    ("Package", "text"),
    ("Credits used", "int"),
    ("Value used", "money"),
    ("Sync note", "text"),
)
MONTH_COLUMNS = _cols(
    ("Month", "text"),
    ("Packages sold", "int"),
    ("Credits sold", "int"),
    ("Sales", "money"),
    ("Sessions used", "int"),
    ("Credits used", "int"),
    ("Value used", "money"),
    ("Credits expired unused", "int"),
    ("Value expired unused", "money"),
    ("Credits outstanding at month end", "int"),
    ("Prepaid liability at month end", "money"),
)


def _row(line: PackageLine | SessionLine | MonthLine) -> tuple[Cell, ...]:
    """A ledger line's values, in its fields' order (which the columns above follow)."""
    return tuple(getattr(line, f.name) for f in fields(line))


def tables(books: Accounts, *, currency: str, source: str) -> list[Table]:
    """The ledger's tables, About last: what it is, as of when, what is not in it."""
    about: list[tuple[Cell, ...]] = [
        ("Ledger of", source),
        ("As of", books.today),
        ("Amounts in", currency),
        (
            "Prepaid liability",
            "what the credits not yet used are worth, at price per credit,"
            " and the passes' share of their term still ahead",
        ),
        (
            "Unlimited passes",
            "used in a straight line over their term: the value used in a month is"
            " the price x the share of the term in it; none expires unused",
        ),
        ("At month end", "counts the sessions dated up to that day (today, for this month)"),
    ]
    about += [("Not in the ledger until fixed", problem) for problem in books.problems]
    return [
        Table("Packages", PACKAGE_COLUMNS, tuple(_row(p) for p in books.packages)),
        Table("Sessions", SESSION_COLUMNS, tuple(_row(s) for s in books.sessions)),
        Table("Months", MONTH_COLUMNS, tuple(_row(m) for m in books.months)),
        Table("About", _cols(("", "text"), ("", "text")), tuple(about)),
    ]


def default_name(today: date) -> str:
    return f"ledger-{today.isoformat()}.xlsx"


def write(
    books: Accounts,
    target: Path,
    *,
    currency: str,
    source: str,
    force: bool = False,
    protected: Mapping[str, Path] | None = None,
) -> Path:
    """Write the ledger to ``target`` (.xlsx or .csv); return where it went.

    Never over a file in ``protected`` (what it is -> its path: the workbook,
    the state store), and over any other existing file only with ``force``.
    """
    for what, kept in (protected or {}).items():
        if _same(target, kept):
            raise ExportError(
                f"--to {target} is {what}: the ledger never replaces it; name another file"
            )
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(
            f"--to {target}: the ledger is written as .xlsx or .csv; name a file ending in one"
        )
    if target.is_dir():
        raise ExportError(f"--to {target} is a folder; name a file in it")
    if target.exists() and not force:
        raise ExportError(
            f"{target} already exists: pass --force to replace it, or name another file with --to"
        )
    made = tables(books, currency=currency, source=source)
    writer = _write_xlsx if suffix == ".xlsx" else _write_csv_file
    _atomic(target, lambda f: writer(made, currency, f), replace=force)
    return target


def write_csv(books: Accounts, out: IO[str], *, currency: str, source: str) -> None:
    """The ledger as CSV text on ``out`` (``--to -``)."""
    _csv_tables(tables(books, currency=currency, source=source), currency, out)


# --- the two formats ---------------------------------------------------------------


def _money(value: Decimal, currency: str) -> Decimal:
    places = Decimal(1) if currency in WHOLE else Decimal("0.01")
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _csv_cell(value: Cell, currency: str) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(_money(value, currency))
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_tables(made: Sequence[Table], currency: str, out: IO[str]) -> None:
    rows = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate(made):
        if i:
            rows.writerow([])
        rows.writerow([table.title])
        if any(c.title for c in table.columns):
            rows.writerow([c.title for c in table.columns])
        for row in table.rows:
            rows.writerow([_csv_cell(v, currency) for v in row])


def _write_csv_file(made: Sequence[Table], currency: str, out: IO[bytes]) -> None:
    # UTF-8 with a byte-order mark, so Excel reads names like Zoë right.
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    _csv_tables(made, currency, text)
    text.flush()
    text.detach()


def _write_xlsx(made: Sequence[Table], currency: str, out: IO[bytes]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    money_format = "#,##0" if currency in WHOLE else "#,##0.00"
    book = Workbook(write_only=True)
    for table in made:
        sheet = book.create_sheet(table.title)
        named = any(c.title for c in table.columns)
        widths = [max(10, min(40, len(c.title) + 2)) for c in table.columns]
        for i, width in enumerate(widths):
            sheet.column_dimensions[_letter(i)].width = width
        if named:
            sheet.freeze_panes = "A2"
            header = []
            for c in table.columns:
                cell = WriteOnlyCell(sheet, value=c.title)
                cell.font = Font(bold=True)
                header.append(cell)
            sheet.append(header)
        for row in table.rows:
            cells: list[object] = []
            for value in row:
                if isinstance(value, Decimal):
                    # openpyxl takes Decimal, whatever its stubs say.
                    cell = WriteOnlyCell(sheet, value=_money(value, currency))  # type: ignore[arg-type]
                    cell.number_format = money_format
                elif isinstance(value, str) and value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # text, never a formula
                else:  # openpyxl gives a date its yyyy-mm-dd format by itself
                    cells.append(value)
                    continue
                cells.append(cell)
            sheet.append(cells)
    book.save(out)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# --- files -------------------------------------------------------------------------


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _atomic(target: Path, fill: Callable[[IO[bytes]], None], *, replace: bool) -> None:
    """Write a temporary file beside ``target``, then move it into place whole.

    Without ``replace``, the move fails if ``target`` appeared meanwhile. The file
    is readable by its owner only, like the state store: it holds the practice's
    figures and its clients' names.
    """
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"--to {target}: there is no folder {folder}")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise ExportError(f"cannot write in {folder}: {err.strerror or err}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(temp, target)
        else:
            _move_unless_there(temp, target)
    except OSError as err:
        raise ExportError(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _move_unless_there(temp: Path, target: Path) -> None:
    try:
        os.link(temp, target)  # fails, rather than replaces, if the file is there
        return
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: check, then move
        if not target.exists():
            os.replace(temp, target)
            return
    raise ExportError(
        f"{target} already exists: pass --force to replace it, or name another file with --to"
    )


# --- the command --------------------------------------------------------------------


def export(
    config: Config,
    backend: Backend,
    target: str | None,
    *,
    now: datetime,
    force: bool = False,
    stdout: IO[str] | None = None,
) -> list[str]:
    """``creditsheet export``: the workbook read as a sync would read it (nothing
    written to it), its ledger written to ``target`` (``-``: CSV on ``stdout``;
    None: ``ledger-YYYY-MM-DD.xlsx`` here); what to say about it."""
    cycle = run_cycle(config, backend, now=now, dry_run=True)
    if cycle.blocked:
        raise NoLedger(
            "the workbook's structure is broken, so there is no ledger to write: "
            + "; ".join(str(p) for p in cycle.structural)
        )
    books = accounts(cycle.result)
    currency, source = config.rules.currency, backend.location
    if target == "-":
        write_csv(books, stdout or sys.stdout, currency=currency, source=source)
        return []
    where = Path(target) if target else Path(default_name(books.today))
    protected = {"the workbook": config.workbook_path, "the state store": config.state_path}
    write(books, where, currency=currency, source=source, force=force, protected=protected)
    said = [
        f"wrote the ledger to {where}: {plural(len(books.packages), 'package')}, "
        f"{plural(len(books.sessions), 'session')}, {plural(len(books.months), 'month')}"
    ]
    if books.problems:
        said.append(
            f"note: {plural(len(books.problems), 'row')} with problems "
            f"{'is' if len(books.problems) == 1 else 'are'} not in the ledger until fixed "
            "(listed on its About tab; each row's Sync note says what to fix)"
        )
    return said
