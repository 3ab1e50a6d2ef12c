"""The workbook contract as data: tabs, their columns, statuses and colors.

Everything that names a tab or a column lives here, so that the parser, the
engine, ``init`` and the docs agree on one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

CellKind = Literal["text", "number", "date"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    computed: bool = False
    required: bool = False
    kind: CellKind = "text"
    #: A dropdown ``init`` puts on the column: fixed choices, or the tab whose
    #: first column lists them.
    choices: tuple[str, ...] = ()
    choices_from: str | None = None
    #: The column of ``choices_from`` that lists the choices (default: that tab's
    #: first column).
    choices_column: str | None = None
    #: ``init`` adds the column only where this tab is in the workbook (or the demo).
    with_tab: str | None = None


@dataclass(frozen=True, slots=True)
class Tab:
    name: str
    columns: tuple[Column, ...]
    required: bool = True
    #: ``init`` adds the tab when it is missing; when False it only prepares the
    #: tab where the practitioner made one (or the demo fills it).
    created: bool = True

    @property
    def inputs(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.computed)

    @property
    def computed(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.computed)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


class Billing(StrEnum):
    PACKAGE = "Package"
    PER_SESSION = "Per-session"
    MONTHLY = "Monthly"
    NONE = "None"


class Outcome(StrEnum):
    ATTENDED = "Attended"
    NO_SHOW = "No-show"
    LATE_CANCEL = "Late cancel"
    CANCELLED = "Cancelled"


class PackageStatus(StrEnum):
    INVALID = "Invalid"
    EXPIRED = "Expired"
    EXHAUSTED = "Exhausted"
    LOW = "Low"
    ACTIVE = "Active"


class SessionStatus(StrEnum):
    DEDUCTED = "Deducted"
    NOT_DEDUCTED = "Not deducted"
    REJECTED = "Rejected"
    INVALID = "Invalid"


GREEN = "#B7E1CD"
AMBER = "#FCE8B2"
RED = "#F4C7C3"
GREY = "#D9D9D9"

PACKAGE_COLORS: dict[PackageStatus, str] = {
    PackageStatus.INVALID: RED,
    PackageStatus.EXPIRED: GREY,
    PackageStatus.EXHAUSTED: RED,
    PackageStatus.LOW: AMBER,
    PackageStatus.ACTIVE: GREEN,
}

#: Sessions' Status cells: the spec colors only problems red; the other
#: verdicts get the matching package colors so the column reads at a glance.
SESSION_COLORS: dict[SessionStatus, str] = {
    SessionStatus.DEDUCTED: GREEN,
    SessionStatus.NOT_DEDUCTED: GREY,
    SessionStatus.REJECTED: RED,
    SessionStatus.INVALID: RED,
}

BILLING_WORDS: dict[str, Billing] = {
    "package": Billing.PACKAGE,
    "packages": Billing.PACKAGE,
    "per-session": Billing.PER_SESSION,
    "per session": Billing.PER_SESSION,
    "persession": Billing.PER_SESSION,
    "monthly": Billing.MONTHLY,
    "none": Billing.NONE,
    "no billing": Billing.NONE,
}

OUTCOME_WORDS: dict[str, Outcome] = {
    "attended": Outcome.ATTENDED,
    "no-show": Outcome.NO_SHOW,
    "no show": Outcome.NO_SHOW,
    "noshow": Outcome.NO_SHOW,
    "late cancel": Outcome.LATE_CANCEL,
    "late-cancel": Outcome.LATE_CANCEL,
    "late cancellation": Outcome.LATE_CANCEL,
    "late cancelled": Outcome.LATE_CANCEL,
    "late canceled": Outcome.LATE_CANCEL,
    "cancelled": Outcome.CANCELLED,
    "canceled": Outcome.CANCELLED,
    "cancel": Outcome.CANCELLED,
}

SYNC_NOTE = "Sync note"

CLIENTS = Tab(
    "Clients",
    (
        Column("Client", required=True),
        Column("Email"),
        Column("Billing", choices=tuple(b.value for b in Billing)),
        Column("Credits left", computed=True, kind="number"),
        Column("Balance link", computed=True),
        Column(SYNC_NOTE, computed=True),
    ),
)

PACKAGES = Tab(
    "Packages",
    (
        Column("Package ID"),
        Column("Client", required=True, choices_from="Clients"),
        Column("Package"),
        Column("Template", choices_from="Templates"),
        Column("Sessions", kind="number"),
        Column("Price", kind="number"),
        Column("Purchased", kind="date"),
        Column("Expires", kind="date"),
        Column("Adjust", kind="number"),
        Column("Shared with"),
        Column("For"),
        Column("Per week", kind="number"),
        Column("Used", computed=True, kind="number"),
        Column("Remaining", computed=True, kind="number"),
        Column("Status", computed=True),
        Column("Progress", computed=True),
        Column(SYNC_NOTE, computed=True),
    ),
)

SESSIONS = Tab(
    "Sessions",
    (
        Column("Date", required=True, kind="date"),
        Column("Client", required=True, choices_from="Clients"),
        Column("Package ID"),
        Column("Outcome", choices=tuple(o.value for o in Outcome)),
        Column(
            "Type", choices_from="Session types", choices_column="Type", with_tab="Session types"
        ),
        Column("Notes"),
        Column("Status", computed=True),
        Column(SYNC_NOTE, computed=True),
    ),
)

TEMPLATES = Tab(
    "Templates",
    (
        Column("Template", required=True),
        Column("Sessions", required=True, kind="number"),
        Column("Price", kind="number"),
        Column("Expiry days", kind="number"),
        Column("For"),
        Column("Per week", kind="number"),
    ),
    required=False,
)

SESSION_TYPES = Tab(
    "Session types",
    (
        Column("Type", required=True),
        Column("Credits", kind="number"),
    ),
    required=False,
    created=False,
)

#: What a ``Sessions`` cell holds for a time-based pass (compared case-insensitively).
UNLIMITED = "Unlimited"

DASHBOARD = "Dashboard"

TABS: tuple[Tab, ...] = (CLIENTS, PACKAGES, SESSIONS, TEMPLATES, SESSION_TYPES)
