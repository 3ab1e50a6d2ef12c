"""The Google Sheets backend: one read per idle cycle, one more read and one write when busy.

    backend = GoogleBackend(spreadsheet_id, key_file=Path("service-account.json"))
    snapshot = backend.read()           # one values:batchGet of every tab
    backend.write(snapshot, plan)       # one values:batchGet to verify, one batchUpdate

It talks to the Sheets API v4 through gspread's HTTP client (with our own
bounded retries, :mod:`sync.backends.google.client`) and a google-auth service
account. The spreadsheet's metadata (tab ids, titles, grid sizes, time zone)
is read once and kept; it is read again only when a tab went missing or was
renamed, or when a tab the sync knows is absent (so a tab the practitioner
adds later is seen).

Each read has a digest (``Snapshot.digest``): of Google's answer byte for byte,
with the tab titles asked for and the time zone. An answer the same as the last
one is not decoded again, and a running daemon reuses the last clean result
(:class:`sync.cycle.CleanMemo`) instead of working it out again.

There is no compare-and-swap in the Sheets API, and writes are positional: a
person may insert, delete or sort rows between our read and our write. So just
before writing, the rows about to be written are read again and every row
whose input cells changed is left for the next cycle. An edit in the round trip
after that read is caught by the write's own answer: input cells that landed on
another row or column are put back in the same cycle (:mod:`sync.backends.google.landing`).
Values are written as
typed cells (``stringValue``, never a formula), so a client named
``=HYPERLINK(...)`` stays text.

The package, one concern a module: :mod:`~sync.backends.google.signin` (which
sheet, which account), :mod:`~sync.backends.google.client` (the HTTP client and
its retries), :mod:`~sync.backends.google.api` (one spreadsheet's calls, Google's
errors in plain words), :mod:`~sync.backends.google.metadata` (tab ids, titles, grids),
:mod:`~sync.backends.google.cells` (cells encoded once, in batches),
:mod:`~sync.backends.google.write_requests` (one write's requests),
:mod:`~sync.backends.google.landing` (where a write's cells landed),
:mod:`~sync.backends.google.init` (what ``init`` sends) and
:mod:`~sync.backends.google.backend` (the backend carrying them out).
"""

from sync.backends.google.backend import GoogleBackend
from sync.backends.google.cells import (
    CELL_BITS,
    batches,
    blocks,
    cell_json,
    encode_body,
    encoded_blocks,
)
from sync.backends.google.signin import ENDPOINT_ENV, load_service_account, spreadsheet_id_of

__all__ = [
    "CELL_BITS",
    "ENDPOINT_ENV",
    "GoogleBackend",
    "batches",
    "blocks",
    "cell_json",
    "encode_body",
    "encoded_blocks",
    "load_service_account",
    "spreadsheet_id_of",
]
