"""Publishing a cycle's balance pages to the state store, where ``serve`` reads them.

    publish(cycle.result, store, now, timezone=cycle.timezone)

All pages are replaced at once, in one transaction. A cycle that could not see
the workbook (a required tab missing or broken) publishes nothing, so the pages
keep showing the last good sync.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rules.model import Result
from sync.balance.pages import pages_of
from sync.store import Store


def publish(
    result: Result,
    store: Store,
    now: datetime,
    *,
    timezone: str | None = None,
    renew_url: str | None = None,
) -> int:
    """Replace the published pages with this result's; how many were published.

    ``timezone`` is the practice's (the cycle's), for the "last updated" time
    shown to clients; without it the time is shown as ``now`` is given.
    """
    if result.blocked:
        return 0
    stamped = now.astimezone(ZoneInfo(timezone)) if timezone else now
    pages = pages_of(result, stamped, renew_url=renew_url)
    store.balance.replace_pages({k: page.to_json() for k, page in pages.items()}, now)
    return len(pages)
