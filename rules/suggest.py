"""'Did you mean ...?' for names that match nothing.

rapidfuzz does the comparing: the same similarity as difflib's ratio, in C++,
which matters when a large practice's sheet has many mistyped rows, each
compared against every client name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz, process

from rules.values import key

#: How alike (0-100) a name must be to be suggested; difflib's 0.6, as a percentage.
CUTOFF = 60.0


def closest(typed: str, names: Iterable[str]) -> str | None:
    """The existing name closest to ``typed``, if any is close enough."""
    by_key, choices = _choices(tuple(names))
    found = process.extractOne(key(typed), choices, scorer=fuzz.ratio, score_cutoff=CUTOFF)
    return by_key[found[0]] if found else None


@functools.lru_cache(maxsize=8)
def _choices(names: tuple[str, ...]) -> tuple[Mapping[str, str], list[str]]:
    """Key -> the first name with that key, and the keys: built once per list of names.

    Every unknown name on a sheet is compared against the same list (all the
    clients), so the keys are worked out once, not once per unknown name.
    """
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(key(name), name)
    return by_key, list(by_key)


def did_you_mean(typed: str, names: Iterable[str]) -> str:
    """`` (did you mean 'John Smith'?)`` or an empty string."""
    found = closest(typed, names)
    return f" (did you mean '{found}'?)" if found else ""
