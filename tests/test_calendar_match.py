"""Whose booking it is: attendee emails first, then whole full names in the title."""

from __future__ import annotations

import pytest

from sync.calendar.match import ClientRef, longest_name_in, match

ANN = ClientRef("Ann Lee", "ann@example.com")
ANN_SHORT = ClientRef("Ann", None)
BOB = ClientRef("Bob  Stone", "BOB@example.com")
FAMILY = ClientRef("Cara Lee", "ann@example.com")
CLIENTS = [ANN, ANN_SHORT, BOB]


@pytest.mark.parametrize(
    ("attendees", "title", "who"),
    [
        (("ann@example.com",), "Massage", "Ann Lee"),
        (("Bob@Example.COM",), "Massage - Ann Lee", "Bob  Stone"),  # the email wins
        ((), "massage - ANN LEE", "Ann Lee"),
        ((), "Ann Lee: follow-up", "Ann Lee"),
        ((), "Bob Stone (intro)", "Bob  Stone"),  # any spaces between the words
        ((), "Ann - first visit", "Ann"),
        ((), "Ann Lee", "Ann Lee"),  # "Ann" inside "Ann Lee" does not count
        (("someone@else.example",), "Ann Lee", "Ann Lee"),
    ],
)
def test_one_client(attendees: tuple[str, ...], title: str, who: str) -> None:
    found = match(attendees, title, CLIENTS).client
    assert found is not None and found.name == who


@pytest.mark.parametrize(
    ("attendees", "title", "candidates"),
    [
        ((), "Annabel Leeds", ()),  # not whole words
        ((), "Intro call - J. Smith", ()),
        ((), "Ann Lee and Bob Stone", ("Ann Lee", "Bob  Stone")),
        ((), "Ann and Ann Lee", ("Ann Lee", "Ann")),
        (("ann@example.com",), "Massage", ("Ann Lee", "Cara Lee")),  # a shared address
    ],
)
def test_no_client_or_several(
    attendees: tuple[str, ...], title: str, candidates: tuple[str, ...]
) -> None:
    found = match(attendees, title, [*CLIENTS, FAMILY])
    assert found.client is None
    assert tuple(c.name for c in found.candidates) == candidates


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Massage 90 - Ann Lee", "Massage 90"),
        ("Massage - Ann Lee", "Massage"),
        ("1-on-1 with Ann", "1-on-1"),
        ("Massage90", None),
        ("Group class", "Group"),
    ],
)
def test_the_longest_session_type_in_the_title(title: str, expected: str | None) -> None:
    assert longest_name_in(title, ["Massage", "Massage 90", "1-on-1", "Group", " "]) == expected
