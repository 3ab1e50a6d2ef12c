"""Realistic workbooks of any size, the same every time for the same size and seed.

A practice with ``sessions`` session rows has one client per 40 sessions, one
and a half packages per client (some from templates, some shared, some with
an Adjust), sessions over three years with a few cancellations and no-shows,
a third of them with a blank Package ID for the sync to pick, and a handful of
rows with mistakes, as a real sheet has.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from rules.schema import CLIENTS, PACKAGES, SESSIONS, TEMPLATES

Tabs = dict[str, list[list[object]]]

START = date(2024, 1, 1)
TODAY = date(2026, 11, 22)


def practice(sessions: int, *, seed: int = 7) -> Tabs:
    rnd = random.Random(seed)
    n_clients = max(20, sessions // 40)
    clients = [[f"Client {i:06d}", f"client{i}@example.com", "Package"] for i in range(n_clients)]
    for i in range(0, n_clients, 25):
        clients[i][2] = "Per-session"
    templates = [
        ["5-Session Pack", 5, 250, 90],
        ["10-Session Pack", 10, 450, 180],
        ["20-Session Pack", 20, 800, 365],
    ]
    packages: list[list[object]] = []
    owner: list[int] = []
    for i in range(n_clients + n_clients // 2):
        c = i % n_clients
        bought = START + timedelta(days=rnd.randrange(1000))
        size = rnd.choice([10, 20, 40, 60, 100])
        row: list[object] = [
            f"P-{i + 1:06d}",
            clients[c][0],
            f"{size}-Session Pack",
            None,
            size,
            size * 45,
            bought,
            bought + timedelta(days=365) if rnd.random() < 0.7 else None,
            rnd.choice([None, None, None, 1, -2]),
            clients[(c + 1) % n_clients][0] if rnd.random() < 0.05 else None,
        ]
        if rnd.random() < 0.1:  # made from a template: blanks for the sync to fill
            row[2:8] = [None, "10-Session Pack", None, None, bought, None]
        packages.append(row)
        owner.append(c)
    # Sessions happen while a package is live and has credits, about weekly.
    rows: list[list[object]] = []
    per_package = max(1, sessions // len(packages))
    for p, row in enumerate(packages):
        bought = row[6]
        assert isinstance(bought, date)
        credits = int(row[4] or 10) if isinstance(row[4], int) else 10
        for k in range(min(credits, per_package + rnd.randrange(3))):
            day = bought + timedelta(days=7 * k + rnd.randrange(5))
            outcome = rnd.choices(
                ["Attended", "No-show", "Late cancel", "Cancelled"], [90, 4, 3, 3]
            )
            named = row[0] if rnd.random() < 0.66 else None
            rows.append([day, clients[owner[p]][0], named, outcome[0], None])
    rows = rows[:sessions]
    while len(rows) < sessions:  # top up with sessions of clients who come and go
        c = rnd.randrange(n_clients)
        rows.append(
            [START + timedelta(days=rnd.randrange(1050)), clients[c][0], None, "Attended", None]
        )
    rows.sort(key=lambda r: r[0])  # type: ignore[arg-type,return-value]
    for i in range(0, len(rows), 997):  # a few mistakes
        rows[i][1] = rows[i][1] + "x"  # type: ignore[operator]
    return {
        "Clients": [[c.name for c in CLIENTS.inputs], *clients],
        "Packages": [[c.name for c in PACKAGES.inputs], *packages],
        # No Session types tab, so no Type column: as init lays a workbook out without one.
        "Sessions": [[c.name for c in SESSIONS.inputs if c.with_tab is None], *rows],
        "Templates": [[c.name for c in TEMPLATES.inputs], *templates],
    }


def cells(tabs: Tabs) -> int:
    """The grid cells of the workbook once synced: every row of each tab, as wide as its
    columns (inputs and the computed ones the sync adds), as Google counts them."""
    widths = {
        t.name: len([c for c in t.columns if c.with_tab is None])
        for t in (CLIENTS, PACKAGES, SESSIONS, TEMPLATES)
    }
    return sum(len(rows) * widths[title] for title, rows in tabs.items())


#: Google's limit on the cells of one spreadsheet.
CEILING = 10_000_000


def ceiling_sessions(limit: int = CEILING) -> int:
    """The most session rows whose synced workbook stays within ``limit`` cells."""
    per_session = cells(practice(40_000)) / 40_000  # about 7.7: a session row and its share
    # Rounded down to thousands, with room for the few rows a size's rounding adds; the
    # table shows the cells of the workbook actually generated.
    return int(limit / per_session * 0.995) // 1_000 * 1_000


def one_more_session(tabs: Tabs) -> list[object]:
    """A session logged today for the first client, as the practitioner would add it."""
    return [TODAY, tabs["Clients"][1][0], None, "Attended", None]
