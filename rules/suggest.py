"""'Did you mean ...?' for names that match nothing."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from rules.values import key


def closest(typed: str, names: Iterable[str]) -> str | None:
    """The existing name closest to ``typed``, if any is close enough."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(key(name), name)
    found = difflib.get_close_matches(key(typed), list(by_key), n=1, cutoff=0.6)
    return by_key[found[0]] if found else None


def did_you_mean(typed: str, names: Iterable[str]) -> str:
    """`` (did you mean 'John Smith'?)`` or an empty string."""
    found = closest(typed, names)
    return f" (did you mean '{found}'?)" if found else ""
