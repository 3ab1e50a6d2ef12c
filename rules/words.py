"""How counts read wherever the program prints one: ``1 row``, ``3 rows``.

>>> plural(1, "credit")
'1 credit'
>>> plural(3, "try", "tries")
'3 tries'
"""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, made plural (``many``, else ``word + 's'``) unless it is 1."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
