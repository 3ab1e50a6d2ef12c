"""Rows -> validated records for the Clients, Templates and Packages tabs.

A row with a problem never raises: it is recorded as a :class:`RowProblem`
per offending column and left out of the valid records, so every other row is
computed as if it were not there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from rules.model import BrokenPackage, Client, InputFill, Package, RowProblem, Settings, Template
from rules.schema import BILLING_WORDS, UNLIMITED, Billing
from rules.suggest import did_you_mean
from rules.tabs import TabView
from rules.values import (
    BadValue,
    key,
    parse_date,
    parse_money,
    parse_whole,
    quote,
    text,
)

T = TypeVar("T")

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_PID = re.compile(r"^p-0*(\d+)$")


def id_key(package_id: str) -> str:
    """Comparison key for a Package ID: ``P-0007``, ``p-7`` and `` P-007 `` are one ID."""
    k = key(package_id)
    match = _PID.match(k)
    return f"p-{int(match.group(1))}" if match else k


def id_number(package_id: str) -> int | None:
    match = _PID.match(key(package_id))
    return int(match.group(1)) if match else None


def format_id(number: int) -> str:
    return f"P-{number:04d}"


@dataclass
class RowCheck:
    """Collects the problems of one row, column by column."""

    tab: str
    row: int
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.tab, self.row, column, f"{column}: {message}"))

    def read(self, column: str, raw: object, parse: Callable[[object], T]) -> T | None:
        if raw is None:
            return None
        try:
            return parse(raw)
        except BadValue as bad:
            self.add(column, str(bad))
            return None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ParsedTab:
    """The outcome of parsing one tab."""

    #: Sheet row numbers of the non-blank rows, in sheet order.
    rows: list[int] = field(default_factory=list)
    problems: dict[int, list[RowProblem]] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)

    def record(self, check: RowCheck) -> None:
        self.rows.append(check.row)
        if check.problems:
            self.problems[check.row] = check.problems
        if check.warnings:
            self.warnings[check.row] = check.warnings


def each_row(v: TabView) -> Iterable[tuple[int, Sequence[object]]]:
    for i, row in enumerate(v.rows()):
        if not v.is_blank(row):
            yield i + 2, row


# --- Clients -------------------------------------------------------------------


@dataclass
class ClientBook(ParsedTab):
    by_key: dict[str, Client] = field(default_factory=dict)
    _names: list[str] | None = None

    def names(self) -> list[str]:
        """Every valid client's name (built once: asked for each unknown name)."""
        if self._names is None or len(self._names) != len(self.by_key):
            self._names = [c.name for c in self.by_key.values()]
        return self._names

    def unknown(self, typed: str) -> str:
        return f"'{typed}' is not on the Clients tab{did_you_mean(typed, self.names())}"


def parse_billing(raw: object) -> Billing:
    found = BILLING_WORDS.get(key(text(raw)))
    if found is None:
        choices = ", ".join(b.value for b in Billing)
        raise BadValue(f"{quote(raw)} is not one of {choices}")
    return found


def parse_clients(v: TabView) -> ClientBook:
    book = ClientBook()
    first_row: dict[str, int] = {}
    for row_no, row in each_row(v):
        check = RowCheck(v.title, row_no)
        raw_name = v.cell(row, "Client")
        name = text(raw_name)
        if raw_name is None:
            check.add("Client", "the name is blank")
        elif key(name) in first_row:
            check.add("Client", f"'{name}' is already on row {first_row[key(name)]}")
        billing = check.read("Billing", v.cell(row, "Billing"), parse_billing) or Billing.PACKAGE
        email = text(v.cell(row, "Email")) or None
        if email is not None and not _EMAIL.match(email):
            check.warnings.append(
                f"Email: {quote(email)} does not look like an email address, "
                "so this client gets no notices"
            )
            email = None
        if raw_name is not None and key(name) not in first_row:
            first_row[key(name)] = row_no
        if check.ok:
            book.by_key[key(name)] = Client(row_no, name, key(name), email, billing)
        book.record(check)
    return book


# --- Session types -------------------------------------------------------------


@dataclass
class TypeBook(ParsedTab):
    """The Session types tab: each type's name and the credits one session uses."""

    #: The workbook has a Session types tab: Type and For cells are read.
    in_use: bool = False
    #: The tab's own structural problem, if any (then no type can be used).
    problem: str | None = None
    by_key: dict[str, tuple[str, int]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def find(self, typed: str) -> tuple[str, str, int] | str:
        """(name, key, credits) of a typed type, or why it cannot be used."""
        k = key(typed)
        found = self.by_key.get(k)
        if found is not None:
            return found[0], k, found[1]
        if self.problem is not None:
            return f"the Session types tab cannot be used: {self.problem}"
        if k in self.broken:
            return f"'{typed}' has a problem ({self.broken[k]})"
        return f"'{typed}' is not on the Session types tab{did_you_mean(typed, self.names)}"

    def read_for(self, check: RowCheck, raw: object) -> tuple[frozenset[str], tuple[str, ...]]:
        """A ``For`` cell: the keys and names of the types it lists (problems to ``check``)."""
        keys: list[str] = []
        names: list[str] = []
        for typed in split_names(raw):
            found = self.find(typed)
            if isinstance(found, str):
                check.add("For", found)
            elif found[1] not in keys:
                keys.append(found[1])
                names.append(found[0])
        return frozenset(keys), tuple(names)


def _unique_name(
    check: RowCheck, v: TabView, row: Sequence[object], column: str, first_row: dict[str, int]
) -> tuple[object, str]:
    """A name column that must be filled and unique on its tab: the raw cell and its text."""
    raw = v.cell(row, column)
    name = text(raw)
    if raw is None:
        check.add(column, "the name is blank")
    elif key(name) in first_row:
        check.add(column, f"'{name}' is already on row {first_row[key(name)]}")
    return raw, name


def parse_session_types(v: TabView | None, problem: str | None = None) -> TypeBook:
    book = TypeBook(in_use=v is not None or problem is not None, problem=problem)
    if v is None:
        return book
    first_row: dict[str, int] = {}
    for row_no, row in each_row(v):
        check = RowCheck(v.title, row_no)
        raw_name, name = _unique_name(check, v, row, "Type", first_row)
        credits = check.read("Credits", v.cell(row, "Credits"), parse_whole)
        if raw_name is not None and key(name) not in first_row:
            first_row[key(name)] = row_no
            book.names.append(name)
            if check.ok:
                book.by_key[key(name)] = (name, credits or 1)
            else:
                reasons = "; ".join(p.message for p in check.problems)
                book.broken[key(name)] = f"Session types row {row_no}: {reasons}"
        book.record(check)
    return book


def parse_bought(raw: object) -> int:
    """A ``Sessions`` cell: credits bought (a whole number >= 1), or 0 for ``Unlimited``."""
    if isinstance(raw, str) and key(raw) == key(UNLIMITED):
        return 0
    return parse_whole(raw)


def _per_week(raw: object) -> int:
    return parse_whole(raw, minimum=1)


# --- Templates -----------------------------------------------------------------


@dataclass
class TemplateBook(ParsedTab):
    by_key: dict[str, Template] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


def parse_templates(v: TabView | None, types: TypeBook | None = None) -> TemplateBook:
    book = TemplateBook()
    types = types or TypeBook()
    if v is None:
        return book
    first_row: dict[str, int] = {}
    for row_no, row in each_row(v):
        check = RowCheck(v.title, row_no)
        raw_name, name = _unique_name(check, v, row, "Template", first_row)
        sessions = check.read("Sessions", v.cell(row, "Sessions"), parse_bought)
        if v.cell(row, "Sessions") is None:
            check.add("Sessions", "blank (type the number of sessions the template sells)")
        price = check.read("Price", v.cell(row, "Price"), parse_money)
        expiry = check.read("Expiry days", v.cell(row, "Expiry days"), _expiry_days)
        if sessions == 0 and v.cell(row, "Expiry days") is None:
            check.add("Expiry days", "blank (an unlimited pass needs Expiry days)")
        for_names: tuple[str, ...] | None = None
        raw_for = v.cell(row, "For") if types.in_use else None
        if raw_for is not None:
            for_names = types.read_for(check, raw_for)[1]
        per_week = check.read("Per week", v.cell(row, "Per week"), _per_week)
        if raw_name is not None and key(name) not in first_row:
            first_row[key(name)] = row_no
            book.names.append(name)
            if check.ok and sessions is not None:
                book.by_key[key(name)] = Template(
                    row_no, name, sessions, price, expiry, sessions == 0, for_names, per_week
                )
            else:
                reasons = "; ".join(p.message for p in check.problems)
                book.broken[key(name)] = f"Templates row {row_no}: {reasons}"
        book.record(check)
    return book


def _expiry_days(raw: object) -> int:
    return parse_whole(raw, minimum=1, maximum=36_500)


# --- Packages ------------------------------------------------------------------


@dataclass
class PackageBook(ParsedTab):
    valid: list[Package] = field(default_factory=list)
    broken: list[BrokenPackage] = field(default_factory=list)
    fills: list[InputFill] = field(default_factory=list)
    by_id: dict[str, Package | BrokenPackage] = field(default_factory=dict)


def highest_id(values: Iterable[object]) -> int:
    """The highest number among ``P-`` IDs in the given cells (0 when none).

    Blank cells count for nothing, typed as None or as white space. Each distinct
    text is read once: the Sessions tab repeats the same IDs many times.
    """
    best = 0
    seen: set[str] = set()
    for raw in values:
        if type(raw) is str:
            if raw in seen:
                continue
            seen.add(raw)
        elif raw is None or isinstance(raw, bool):
            continue
        number = id_number(text(raw))
        if number is not None and number > best:
            best = number
    return best


def split_names(raw: object) -> list[str]:
    return [part.strip() for part in text(raw).split(",") if part.strip()]


def parse_packages(
    v: TabView,
    clients: ClientBook,
    templates: TemplateBook,
    *,
    today: date,
    settings: Settings,
    next_id: int,
    templates_problem: str | None = None,
    types: TypeBook | None = None,
) -> PackageBook:
    """Validate the Packages rows, fill what the contract allows, assign IDs.

    ``next_id`` is the number the first new Package ID gets: one more than the
    highest ``P-`` ID anywhere in the workbook, so gaps are never reused.
    """
    book = PackageBook()
    types = types or TypeBook()
    first_row: dict[str, int] = {}

    def read_date(raw: object) -> date:
        return parse_date(
            raw, numbers_are_dates=settings.numbers_are_dates, date_order=settings.date_order
        )

    for row_no, row in each_row(v):
        check = RowCheck(v.title, row_no)
        raw_id = v.cell(row, "Package ID")
        typed_id = text(raw_id) if raw_id is not None else None
        if typed_id is not None and id_key(typed_id) in first_row:
            other_row = first_row[id_key(typed_id)]
            check.add("Package ID", f"'{typed_id}' is already used on row {other_row}")

        raw_client = v.cell(row, "Client")
        client = None
        if raw_client is None:
            check.add("Client", "blank (type a name from the Clients tab)")
        else:
            client = clients.by_key.get(key(text(raw_client)))
            if client is None:
                check.add("Client", clients.unknown(text(raw_client)))

        template = None
        raw_template = v.cell(row, "Template")
        if raw_template is not None:
            typed = text(raw_template)
            if templates_problem is not None:
                check.add("Template", f"the Templates tab cannot be used: {templates_problem}")
            elif key(typed) in templates.broken:
                check.add("Template", f"'{typed}' has a problem ({templates.broken[key(typed)]})")
            else:
                template = templates.by_key.get(key(typed))
                if template is None:
                    hint = did_you_mean(typed, templates.names)
                    check.add("Template", f"'{typed}' is not on the Templates tab{hint}")

        sessions = check.read("Sessions", v.cell(row, "Sessions"), parse_bought)
        if v.cell(row, "Sessions") is None:
            if template is not None:
                sessions = template.sessions
            elif raw_template is None:
                check.add(
                    "Sessions", "blank (type the number of sessions bought, or pick a Template)"
                )
        price: Decimal | None = check.read("Price", v.cell(row, "Price"), parse_money)
        if v.cell(row, "Price") is None and template is not None:
            price = template.price
        purchased = check.read("Purchased", v.cell(row, "Purchased"), read_date)
        expires = check.read("Expires", v.cell(row, "Expires"), read_date)
        adjust = check.read(
            "Adjust", v.cell(row, "Adjust"), lambda raw: parse_whole(raw, minimum=None)
        )
        unlimited = sessions == 0
        if unlimited:
            if v.cell(row, "Adjust") is not None:
                check.add("Adjust", "an unlimited pass has no credits to add or take off")
            if v.cell(row, "Expires") is None and not (template and template.expiry_days):
                check.add("Expires", "an unlimited pass needs an Expires date")
        for_keys: frozenset[str] | None = None
        for_names: tuple[str, ...] = ()
        raw_for = v.cell(row, "For") if types.in_use else None
        if raw_for is not None:
            for_keys, for_names = types.read_for(check, raw_for)
        elif template is not None and template.for_types is not None and types.in_use:
            for_keys, for_names = types.read_for(check, ", ".join(template.for_types))
        per_week = check.read("Per week", v.cell(row, "Per week"), _per_week)
        if v.cell(row, "Per week") is None and template is not None:
            per_week = template.per_week

        shared: list[Client] = []
        shared_keys: set[str] = set()
        for name in split_names(v.cell(row, "Shared with")):
            other = clients.by_key.get(key(name))
            if other is None:
                check.add("Shared with", clients.unknown(name))
            elif other.key not in shared_keys and (client is None or other.key != client.key):
                shared.append(other)
                shared_keys.add(other.key)

        typed_name = text(v.cell(row, "Package"))
        if typed_id is not None and id_key(typed_id) not in first_row:
            first_row[id_key(typed_id)] = row_no

        if not check.ok or client is None or sessions is None:
            broken = BrokenPackage(
                row=row_no,
                id=typed_id,
                name=typed_name,
                owner_key=client.key if client else _owner_key(raw_client),
                shared_keys=frozenset(shared_keys),
                problem="; ".join(p.message for p in check.problems),
            )
            book.broken.append(broken)
            if typed_id is not None and id_key(typed_id) not in book.by_id:
                book.by_id[id_key(typed_id)] = broken
            book.record(check)
            continue

        fills: list[InputFill] = []
        if typed_id is None:
            typed_id = format_id(next_id)
            next_id += 1
            fills.append(InputFill(row_no, "Package ID", typed_id, "text"))
        name = typed_name
        if template is not None:
            if not typed_name:
                name = template.name
                fills.append(InputFill(row_no, "Package", name, "text"))
            if v.cell(row, "Sessions") is None and template.unlimited:
                fills.append(InputFill(row_no, "Sessions", UNLIMITED, "text"))
            elif v.cell(row, "Sessions") is None:
                fills.append(InputFill(row_no, "Sessions", template.sessions, "number"))
            if v.cell(row, "Price") is None and template.price is not None:
                fills.append(InputFill(row_no, "Price", _number(template.price), "number"))
            if raw_for is None and for_names and template.for_types is not None:
                fills.append(InputFill(row_no, "For", ", ".join(for_names), "text"))
            if v.cell(row, "Per week") is None and template.per_week is not None:
                fills.append(InputFill(row_no, "Per week", template.per_week, "number"))
        if purchased is None:
            purchased = today
            fills.append(InputFill(row_no, "Purchased", today, "date"))
        if expires is None and v.cell(row, "Expires") is None and template and template.expiry_days:
            expires = purchased + timedelta(days=template.expiry_days)
            fills.append(InputFill(row_no, "Expires", expires, "date"))
        package = Package(
            row=row_no,
            id=typed_id,
            id_key=id_key(typed_id),
            client=client,
            name=name,
            sessions=sessions,
            price=price,
            purchased=purchased,
            expires=expires,
            adjust=adjust or 0,
            shared_with=tuple(shared),
            unlimited=unlimited,
            for_keys=for_keys,
            for_names=for_names,
            per_week=per_week,
        )
        book.valid.append(package)
        book.by_id.setdefault(package.id_key, package)
        book.fills.extend(f for f in fills if v.has(f.column))
        book.record(check)
    return book


def _owner_key(raw_client: object) -> str | None:
    return key(text(raw_client)) if raw_client is not None else None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
