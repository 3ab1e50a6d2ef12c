"""A small, realistic practice for ``creditsheet init --demo``.

Dates are relative to today, so the first sync shows every status whenever it
runs: a 5-session pack after three sessions (2 left, amber), a pack used up
with a sixth session rejected, one expiring within the week, one expired with
credits left, a per-session and a monthly client, a template-made package, a
family package shared between two clients, and one typo for the sync to catch.
With session types: a client with a 1-on-1 pack that a group class cannot draw
on, a group pack that takes the classes instead, and a 90-minute massage that
uses two credits; and a monthly unlimited pass with a limit of three classes a
week, whose fourth class in one week (naming the pass by its name) is rejected.
Other IDs and package choices are left blank for the first sync to fill in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta


def demo_rows(today: date) -> dict[str, Sequence[Mapping[str, object]]]:
    def ago(days: int) -> date:
        return today - timedelta(days=days)

    templates = [
        {"Template": "5-Session Pack", "Sessions": 5, "Price": 250, "Expiry days": 90},
        {"Template": "10-Session Pack", "Sessions": 10, "Price": 450, "Expiry days": 180},
        {"Template": "Intro Pack", "Sessions": 3, "Price": 99, "Expiry days": 30},
        {
            "Template": "Group 10-Class Pass",
            "Sessions": 10,
            "Price": 150,
            "Expiry days": 120,
            "For": "Group",
        },
        {
            "Template": "Monthly Unlimited",
            "Sessions": "Unlimited",
            "Price": 120,
            "Expiry days": 30,
            "For": "Group",
            "Per week": 3,
        },
    ]
    session_types = [
        {"Type": "1-on-1", "Credits": 1},
        {"Type": "Group", "Credits": 1},
        {"Type": "Massage 90", "Credits": 2},
    ]
    clients = [
        {"Client": "Maya Patel", "Email": "maya@example.com", "Billing": "Package"},
        {"Client": "Tom Becker", "Email": "tom@example.com", "Billing": "Package"},
        {"Client": "Sofia Alvarez", "Email": "sofia@example.com", "Billing": "Package"},
        {"Client": "Liam O'Connor", "Billing": "Package"},
        {"Client": "Anh Nguyen", "Email": "anh@example.com", "Billing": "Package"},
        {"Client": "Bao Nguyen", "Billing": "Package"},
        {"Client": "Priya Shah", "Email": "priya@example.com"},
        {"Client": "Grace Kim", "Billing": "Per-session"},
        {"Client": "Daniel Okafor", "Billing": "Monthly"},
        {"Client": "Ella Hughes", "Billing": "Package"},
        {"Client": "Noah Williams", "Billing": "Package"},
    ]
    packages = [
        {
            "Client": "Maya Patel",
            "Package": "5-Session Pack",
            "Sessions": 5,
            "Price": 250,
            "Purchased": ago(40),
            "Expires": ago(40) + timedelta(days=90),
        },
        {
            "Client": "Tom Becker",
            "Package": "5-Session Pack",
            "Sessions": 5,
            "Price": 250,
            "Purchased": ago(60),
            "Expires": ago(60) + timedelta(days=90),
        },
        {
            "Client": "Sofia Alvarez",
            "Package": "10-Session Pack",
            "Sessions": 10,
            "Price": "£450.00",
            "Purchased": ago(176),
            "Expires": ago(176) + timedelta(days=180),
            "Adjust": 1,
        },
        {
            "Client": "Liam O'Connor",
            "Package": "5-Session Pack",
            "Sessions": 5,
            "Price": 250,
            "Purchased": ago(100),
            "Expires": ago(10),
        },
        {
            "Client": "Anh Nguyen",
            "Package": "Family 10-Pack",
            "Sessions": 10,
            "Price": 420,
            "Purchased": ago(30),
            "Shared with": "Bao Nguyen",
        },
        {"Client": "Priya Shah", "Template": "Intro Pack", "Purchased": ago(3)},
        {
            "Client": "Ella Hughes",
            "Package": "10-Session Pack",
            "Sessions": 10,
            "For": "1-on-1, Massage 90",
            "Price": 450,
            "Purchased": ago(45),
            "Expires": ago(45) + timedelta(days=180),
        },
        {"Client": "Ella Hughes", "Template": "Group 10-Class Pass", "Purchased": ago(21)},
        {"Client": "Noah Williams", "Template": "Monthly Unlimited", "Purchased": ago(20)},
    ]
    sessions: list[dict[str, object]] = []

    def log(
        client: str, *days: int, outcome: str = "Attended", notes: str = "", kind: str = ""
    ) -> None:
        for d in days:
            row: dict[str, object] = {"Date": ago(d), "Client": client, "Outcome": outcome}
            if kind:
                row["Type"] = kind
            if notes:
                row["Notes"] = notes
            sessions.append(row)

    log("Sofia Alvarez", 170, 150, 120, 90, 60, 30, 9)
    log("Sofia Alvarez", 20, outcome="Cancelled", notes="Rescheduled, 48h notice")
    log("Liam O'Connor", 95, 80)
    log("Tom Becker", 55, 48, 41, 34, 27, 6)
    log("Maya Patel", 35, 28)
    log("Maya Patel", 14, outcome="No-show")
    log("Anh Nguyen", 25, 18, 11)
    log("Bao Nguyen", 21, 7)
    log("Grace Kim", 5)
    log("Daniel Okafor", 3)
    log("Maya Patell", 2, notes="typed in a hurry")
    log("Priya Shah", 1)
    log("Ella Hughes", 40, 26, kind="1-on-1")
    log("Ella Hughes", 19, 12, 5, kind="Group")
    log("Ella Hughes", 12, kind="Massage 90", notes="90 minutes: two credits")
    # Four classes in one Monday-to-Sunday week on a pass allowing three.
    week = ago(13) - timedelta(days=ago(13).weekday())
    log("Noah Williams", *((today - week).days - n for n in range(3)), kind="Group")
    sessions.append(
        {
            "Date": week + timedelta(days=3),
            "Client": "Noah Williams",
            "Package ID": "Monthly Unlimited",
            "Type": "Group",
            "Notes": "a fourth class that week",
        }
    )
    log("Noah Williams", 3, kind="Group")
    sessions.sort(key=lambda r: r["Date"])  # type: ignore[arg-type,return-value]
    return {
        "Clients": clients,
        "Packages": packages,
        "Sessions": sessions,
        "Templates": templates,
        "Session types": session_types,
    }


def demo_calendar(today: date) -> bytes:
    """The demo practice's booking calendar (an .ics file, as a booking tool exports it).

    Maya Patel has 2 credits left and books three more sessions: the third is
    rejected the moment it is imported. Anh Nguyen has a weekly group class; an
    intro call matches no client; lunch (free) and a closed day (all day) are not
    bookings.
    """

    def at(days: int, hour: int = 10) -> str:
        return f"{today + timedelta(days=days):%Y%m%d}T{hour:02d}0000Z"

    def event(uid: str, start: str, end: str, summary: str, *extra: str) -> list[str]:
        return [
            "BEGIN:VEVENT",
            f"UID:{uid}@demo.creditsheet",
            f"DTSTAMP:{today:%Y%m%d}T080000Z",
            f"DTSTART{start}",
            f"DTEND{end}",
            f"SUMMARY:{summary}",
            *extra,
            "STATUS:CONFIRMED",
            "END:VEVENT",
        ]

    maya = "ATTENDEE;CN=Maya Patel;PARTSTAT=ACCEPTED:mailto:maya@example.com"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//creditsheet//demo bookings//EN"]
    lines += event("maya-1", f":{at(2)}", f":{at(2, 11)}", "Massage - Maya Patel", maya)
    lines += event("maya-2", f":{at(5)}", f":{at(5, 11)}", "Massage - Maya Patel", maya)
    lines += event("maya-3", f":{at(9)}", f":{at(9, 11)}", "Massage - Maya Patel", maya)
    lines += event(
        "anh-group",
        f":{at(1, 18)}",
        f":{at(1, 19)}",
        "Group class - Anh Nguyen",
        "RRULE:FREQ=WEEKLY;COUNT=3",
    )
    lines += event("intro", f":{at(4, 15)}", f":{at(4, 16)}", "Intro call - J. Smith")
    lines += event("lunch", f":{at(3, 12)}", f":{at(3, 13)}", "Lunch", "TRANSP:TRANSPARENT")
    day = today + timedelta(days=6)
    lines += event(
        "closed",
        f";VALUE=DATE:{day:%Y%m%d}",
        f";VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        "Studio closed",
    )
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
