"""The plain values that go into and come out of the rules engine.

In: :class:`Table` (a tab as the backend read it), :class:`Settings`, today.
Out: :class:`Result` with, per tab, the desired computed columns and the
blank input cells to fill, the statuses, the dashboard figures and the events.
All frozen; the shell (``sync/``) carries them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from rules.schema import UNLIMITED, Billing, CellKind, Outcome, PackageStatus, SessionStatus
from rules.values import DateOrder

Value = str | int | float | Decimal | date | None


@dataclass(frozen=True, slots=True)
class Settings:
    low_credit_threshold: int = 2
    expiry_warning_days: int = 7
    deduct_outcomes: frozenset[Outcome] = frozenset(
        {Outcome.ATTENDED, Outcome.NO_SHOW, Outcome.LATE_CANCEL}
    )
    date_order: DateOrder | None = None
    #: Google delivers every date as a serial number; an xlsx number is not a date.
    numbers_are_dates: bool = False
    #: The balance page is on: the Clients tab gets a ``Balance link`` column.
    balance_links: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """One tab as read: row 1 is ``header``, ``rows[i]`` is sheet row ``i + 2``.

    Rows may be shorter than the header (trailing blanks trimmed).
    """

    title: str
    header: Sequence[object]
    rows: Sequence[Sequence[object]]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Something wrong with one row (or, with ``row`` 0, with a whole tab)."""

    tab: str
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.tab} row {self.row}" if self.row else self.tab
        return f"{where}: {self.message}"


# --- parsed rows ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Client:
    row: int
    name: str
    key: str
    email: str | None
    billing: Billing


@dataclass(frozen=True, slots=True)
class Template:
    row: int
    name: str
    sessions: int
    price: Decimal | None
    expiry_days: int | None
    unlimited: bool = False
    #: The session types it is for (names as on the Session types tab); None: every type.
    for_types: tuple[str, ...] | None = None
    per_week: int | None = None


@dataclass(frozen=True, slots=True)
class Package:
    """A valid package row with its template values and fills applied."""

    row: int
    id: str
    id_key: str
    client: Client
    name: str
    sessions: int
    price: Decimal | None
    purchased: date
    expires: date | None
    adjust: int
    shared_with: tuple[Client, ...]
    #: A time-based pass: any number of sessions until ``expires`` (``sessions`` is 0).
    unlimited: bool = False
    #: Keys of the session types it pays for (see :func:`rules.values.key`); None: every
    #: type and sessions with no type.
    for_keys: frozenset[str] | None = None
    #: The same types as the Session types tab names them, for notes.
    for_names: tuple[str, ...] = ()
    #: At most this many sessions in a Monday-to-Sunday week; None: no limit.
    per_week: int | None = None
    #: No For, no weekly limit, not a pass: a package as they all were before those
    #: existed, which the deduction checks the short way (set from the fields above).
    plain: bool = field(init=False, default=True, compare=False, repr=False)

    def __post_init__(self) -> None:
        plain = self.for_keys is None and self.per_week is None and not self.unlimited
        object.__setattr__(self, "plain", plain)

    @property
    def total(self) -> int:
        """Credits the package holds: ``Sessions + Adjust``."""
        return self.sessions + self.adjust

    def pays_for(self, type_key: str | None) -> bool:
        """Whether a session of this type (None: no type) may be paid from it."""
        return self.for_keys is None or (type_key is not None and type_key in self.for_keys)

    def display(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class SessionType:
    """A row of the Session types tab: its name, comparison key and credits per session."""

    name: str
    key: str
    credits: int = 1


@dataclass(frozen=True, slots=True)
class Session:
    row: int
    date: date
    client: Client
    #: The package the row names (resolved), or None when the cell is blank.
    named: Package | BrokenPackage | None
    outcome: Outcome

    @property
    def kind(self) -> SessionType | None:
        """The session's type; None: no type (or no Session types tab)."""
        return None

    @property
    def type_key(self) -> str | None:
        return self.kind.key if self.kind is not None else None

    @property
    def type_name(self) -> str | None:
        return self.kind.name if self.kind is not None else None

    @property
    def credits(self) -> int:
        """Credits the session uses: its type's, else 1."""
        return self.kind.credits if self.kind is not None else 1


@dataclass(frozen=True, slots=True)
class TypedSession(Session):
    """A session with a type. A subclass, so that a sheet without types builds its
    sessions with no field more than before (each field is a store per row)."""

    kind: SessionType | None = None


@dataclass(frozen=True, slots=True)
class BrokenPackage:
    """A package row with a problem: it can be named, but takes no sessions."""

    row: int
    id: str | None
    name: str
    owner_key: str | None
    shared_keys: frozenset[str]
    problem: str


# --- results -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnOut:
    """The desired content of one computed column, for every data row.

    ``values[i]`` and ``colors[i]`` are for sheet row ``i + 2``; a color of None
    means no background color. ``colors`` is None for a column never colored.
    """

    name: str
    kind: CellKind
    values: Sequence[Value]
    colors: Sequence[str | None] | None = None


@dataclass(frozen=True, slots=True)
class InputFill:
    """A blank input cell the contract lets the sync fill."""

    row: int
    column: str
    value: Value
    kind: CellKind


@dataclass(frozen=True, slots=True)
class TabOut:
    title: str
    columns: tuple[ColumnOut, ...]
    fills: tuple[InputFill, ...] = ()
    #: 0-based sheet column of every contract column present or to be added.
    positions: Mapping[str, int] = field(default_factory=dict)
    #: Computed columns missing from the header: name -> where to add them.
    new_headers: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PackageResult:
    package: Package
    used: int
    remaining: int
    status: PackageStatus
    #: Dates of the sessions deducted from it, in deduction order.
    session_dates: tuple[date, ...]

    @property
    def remaining_shown(self) -> int | str:
        """``Remaining`` as the sheet shows it: a number, or ``Unlimited`` for a pass."""
        return UNLIMITED if self.package.unlimited else self.remaining


@dataclass(frozen=True, slots=True)
class SessionResult:
    row: int
    status: SessionStatus
    note: str
    session: Session | None
    package_id: str | None = None

    @property
    def reason(self) -> str | None:
        """Why a rejected session was rejected: one of :data:`REJECTIONS` (else None)."""
        return None

    @property
    def used_up(self) -> str | None:
        """For a session rejected for want of credits: the name of the package used up."""
        return None


@dataclass(frozen=True, slots=True)
class RejectedSession(SessionResult):
    """A rejected session's result, with why (a subclass: the other results, most of
    them, carry no field more)."""

    reason: str | None = None
    used_up: str | None = None


EventKind = Literal[
    "expiring_soon",
    "expired_unused",
    "low",
    "exhausted",
    "rejected_session",
    "sheet_problem",
    "client_session",
    "client_expiring",
    "client_exhausted",
    "client_rejected",
    # The calendar import's (sync/calendar): a booking matching no client, a failing feed.
    "calendar_unmatched",
    "calendar_feed",
]

#: Why a session is rejected, in the contract's order of reasons.
REJECTIONS = (
    "invalid_package",
    "not_shared",
    "wrong_type",
    "expired",
    "before_purchase",
    "weekly_limit",
    "no_credits",
    "none_usable",
)
#: Rejections for want of credits: the client is told, with the renewal link.
SHORT_OF_CREDITS = frozenset({"no_credits", "none_usable"})


@dataclass(frozen=True, slots=True)
class Event:
    """Something that may deserve an email, under a dedupe key.

    ``rearm``: the key is forgotten once the condition stops holding, so the
    event can fire again (low, exhausted, sheet problems); otherwise a key fires
    once, ever. ``audience`` is ``practitioner`` or a client's email address.
    """

    kind: EventKind
    key: str
    rearm: bool
    audience: str
    subject: str
    details: Mapping[str, str | int | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MonthFigure:
    month: str  # "2026-11"
    revenue: Decimal
    sessions_used: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    today: date
    months: tuple[MonthFigure, ...]
    credits_outstanding: int
    prepaid_unused: Decimal
    low_clients: tuple[tuple[str, int], ...]
    expiring: tuple[tuple[str, str, str, int | str, date], ...]
    """(package id, client, package name, remaining or ``Unlimited``, expires)"""
    #: Price per credit x credits left when a package expired, over the last 12 months.
    expired_unused: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Result:
    """Everything one cycle decided, as plain values."""

    tabs: tuple[TabOut, ...]
    structural: tuple[RowProblem, ...]
    problems: tuple[RowProblem, ...]
    packages: tuple[PackageResult, ...]
    sessions: tuple[SessionResult, ...]
    client_credits: Mapping[str, int]
    events: tuple[Event, ...]
    dashboard: Dashboard
    rows_read: Mapping[str, int]
    #: Tabs (by contract name) that must not be written this cycle.
    blocked: frozenset[str] = frozenset()
    #: Clients (by name) who may draw on an unexpired unlimited pass.
    unlimited_clients: frozenset[str] = frozenset()
    #: Packages (id keys) whose balance is told in credits, not sessions: those that pay
    #: for a type using more than one credit (listed in ``For``, or deducted from them).
    credit_packages: frozenset[str] = frozenset()
