"""GoogleBackend: reads, verifies and writes a Google spreadsheet."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.model import Table
from rules.schema import DASHBOARD, TABS
from rules.tabs import column_letter
from rules.words import plural
from sync.backends.base import (
    Layout,
    Snapshot,
    WorkbookUnavailable,
    WriteOutcome,
    WritePlan,
)
from sync.backends.google.api import VALUES, Refused, SheetsAPI
from sync.backends.google.cells import (
    COMPACT,
    JSON,
    LANDED_FIELDS,
    MAX_BATCH_BYTES,
    Request,
    batches,
    cell_value,
    encode_body,
)
from sync.backends.google.client import RetryingHTTPClient, RetryPolicy, SheetsUnreachable
from sync.backends.google.init import InitRequests
from sync.backends.google.landing import (
    Landing,
    Restore,
    column_map,
    judge,
    judge_columns,
    landed_rows,
    trimmed,
)
from sync.backends.google.metadata import (
    META_FIELDS,
    Metadata,
    MetadataCache,
    Shown,
    grid_end,
    quote_title,
    range_title,
)
from sync.backends.google.signin import (
    ENDPOINT_ENV,
    spreadsheet_id_of,
)
from sync.backends.google.verify import (
    MAX_VERIFY_RANGES,
    SafeRows,
    input_positions,
    input_span,
    read_digest,
    row_runs,
    safe_rows,
    verify_ranges,
)
from sync.backends.google.write_requests import WriteRequests, put_back_requests

log = logging.getLogger(__name__)


#: Per tab title, 1-based row -> its effective values right after a write.
RowsAfter = dict[str, dict[int, list[object]]]


@dataclass(frozen=True)
class Sent:
    """What sending a write came to: Google's refusal (nothing of that batch was written),
    or the rows asked for (``look_at``) as they were right after the write."""

    refusal: str | None
    rows_after: RowsAfter = field(default_factory=dict)


@dataclass(frozen=True)
class _Read:
    """A read's snapshot, with the title and grid each tab's range showed (in tab order)."""

    snapshot: Snapshot
    shown: tuple[Shown, ...]


# --- the backend ---------------------------------------------------------------------


class GoogleBackend:
    """A Google Sheets spreadsheet as the workbook.

    ``key_file`` is the service-account JSON key; with ``endpoint`` (an emulator's
    base URL) no credentials are used. ``rng``, ``sleep`` and ``clock`` drive the
    retries and the choice of new tab ids, so tests control them. The calls to
    Google are :class:`~sync.backends.google.api.SheetsAPI`'s.
    """

    def __init__(
        self,
        spreadsheet_id: str,
        *,
        key_file: Path | None = None,
        endpoint: str | None = None,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        metadata_max_age: float = 300.0,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.rng = rng or random.Random()
        self.clock = clock
        self.metadata_max_age = metadata_max_age
        self.max_batch_bytes = max_batch_bytes
        self.location = f"Google Sheets {spreadsheet_id}"
        self.api = SheetsAPI(
            spreadsheet_id,
            key_file=key_file,
            endpoint=endpoint,
            policy=policy,
            rng=self.rng,
            sleep=sleep,
            clock=clock,
        )
        self._metadata = MetadataCache()
        #: The last read, kept so an idle cycle's unchanged answer is not decoded again.
        self._last: _Read | None = None

    @classmethod
    def from_environment(
        cls, spreadsheet: str, key_file: Path | None, environ: Mapping[str, str] = os.environ
    ) -> GoogleBackend:
        """The backend as configured, sent to ``$CREDITSHEET_SHEETS_ENDPOINT`` when set."""
        return cls(
            spreadsheet_id_of(spreadsheet), key_file=key_file, endpoint=environ.get(ENDPOINT_ENV)
        )

    # --- talking to the API ----------------------------------------------------

    def client(self) -> RetryingHTTPClient:
        """The HTTP client, made on first use (see :meth:`SheetsAPI.client`)."""
        return self.api.client()

    @property
    def key_file(self) -> Path | None:
        """The service-account JSON key it signs in with."""
        return self.api.key_file

    @property
    def endpoint(self) -> str | None:
        """The emulator's base URL it talks to instead of Google (None: Google)."""
        return self.api.endpoint

    @property
    def calls(self) -> int:
        """API calls made (each counted once, however many tries it took)."""
        return self.api.calls

    def metadata(self, *, refresh: bool = False) -> Metadata:
        """The cached metadata, read from Google the first time or when asked."""
        meta = self._metadata.kept
        if meta is None or refresh:
            try:
                raw = self.api.metadata({"fields": META_FIELDS, **COMPACT})
            except Refused as err:
                raise WorkbookUnavailable(
                    f"Google Sheets refused to describe the sheet: {err}"
                ) from None
            meta = self._metadata.keep(raw, self.clock())
            self.location = f"Google Sheets '{meta.title}' ({self.spreadsheet_id})"
        return meta

    def _stale(self, meta: Metadata) -> bool:
        """A tab the sync knows is absent: required ones are looked for every cycle."""
        missing = [t for t in TABS if meta.find(t.name) is None]
        if any(t.required for t in missing):
            return True
        aged = self.clock() - meta.read_at > self.metadata_max_age
        return aged and (bool(missing) or meta.find(DASHBOARD) is None)

    # --- read ------------------------------------------------------------------

    def read(self) -> Snapshot:
        meta = self.metadata()
        if self._stale(meta):
            meta = self.metadata(refresh=True)
        try:
            answer, digest = self._read_tabs(meta)
        except Refused:
            # A tab was renamed or deleted since the metadata was read.
            meta = self.metadata(refresh=True)
            try:
                answer, digest = self._read_tabs(meta)
            except Refused as err:
                raise WorkbookUnavailable(
                    f"Google Sheets refused to read the tabs: {err}"
                ) from None
        if self._last is not None and self._last.snapshot.digest == digest:
            # Google's very answer to the very request of the last read (a running daemon's
            # idle cycle): the same tables, and the same titles and grids to note.
            self._metadata.note_shown(meta, self._last.shown)
            return self._last.snapshot
        assert answer is not None, "only the last read's answer is left undecoded"
        self._last = None  # its tables can go before the new ones are made
        tables: dict[str, Table] = {}
        shown_tabs: list[Shown] = []
        for tab, found in zip(meta.tabs, answer, strict=False):
            shown = str(found.get("range", ""))
            # The title as Google spells it now (a rename may have changed only its case).
            title = range_title(shown) or tab.title
            shown_tabs.append((title, grid_end(shown)))
            rows = [[cell_value(v) for v in row] for row in found.get("values") or []]
            header = tuple(rows[0]) if rows else ()
            tables[title] = Table(title, header, rows[1:])
        self._metadata.note_shown(meta, shown_tabs)
        snapshot = Snapshot(
            tables=tables,
            colors={},
            numbers_are_dates=True,
            timezone=meta.time_zone,
            digest=digest,
        )
        self._last = _Read(snapshot, tuple(shown_tabs))
        return snapshot

    def _read_tabs(self, meta: Metadata) -> tuple[list[dict[str, Any]] | None, str]:
        """Every tab's values (one values:batchGet) and the read's digest; the values are
        not decoded (None) when the digest is the last read's."""
        titles = [t.title for t in meta.tabs]
        ranges = [quote_title(t) for t in titles]
        last = self._last.snapshot.digest if self._last is not None else None

        def fetch(h: RetryingHTTPClient) -> tuple[list[dict[str, Any]] | None, str]:
            response = h.values_batch_get_response(self.spreadsheet_id, ranges, VALUES)
            digest = read_digest(self.spreadsheet_id, meta.time_zone, titles, response.content)
            if digest == last:
                return None, digest
            found: list[dict[str, Any]] = response.json().get("valueRanges") or []
            return found, digest

        return self.api.call(fetch)

    # --- write -----------------------------------------------------------------

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome:
        if not plan:
            return WriteOutcome(written=False)
        calls_before = self.calls

        def outcome(reason: str | None, **kwargs: Any) -> WriteOutcome:
            return WriteOutcome(reason=reason, requests=self.calls - calls_before, **kwargs)

        meta = self.metadata()
        named = {c.tab for c in plan.cells} | {h.tab for h in plan.headers}
        named |= {a.tab for a in plan.appends}
        named |= {t.title for t in plan.tabs if t.exists}
        if any(meta.find(title) is None for title in named):
            meta = self.metadata(refresh=True)
        try:
            verified = self._verify(snapshot, plan, meta)
        except Refused:
            # A tab went away, or its grid shrank below rows we asked for: look again.
            meta = self.metadata(refresh=True)
            try:
                verified = self._verify(snapshot, plan, meta)
            except Refused:
                self._metadata.forget()
                return outcome(
                    _MOVED + "nothing was written; the next cycle reads it again",
                    retry_next_cycle=True,
                )
        build = WriteRequests(meta, self._new_sheet_id)
        build.tabs(plan.tabs)
        build.headers(plan.headers, verified)
        build.cells(plan.cells, verified)
        build.appends(plan.appends, verified)
        skipped = len(build.skipped_rows)
        if not build.requests:
            reason = _skipped_reason(skipped, nothing_written=True)
            return outcome(reason, written=False, rows_skipped=skipped, retry_next_cycle=True)
        # Right after the write: the header of each tab written, and each row filled.
        look_at = [
            f"{quote_title(title)}!1:1" for title in {*build.cells_written, *build.headers_written}
        ]
        # Two rows either side of each filled row: rows the write left alone tell how far
        # rows moved, to tell apart rows that read alike (see landed.judge).
        # (Within the grid as last seen: a range past it would fail the whole write.)
        for title, rows in build.filled_rows().items():
            info = meta.find(title)
            end = info.rows if info is not None else max(rows)
            near = {n for r in rows for n in range(max(2, r - 2), min(end, r + 2) + 1)}
            runs = row_runs(near | rows)
            # Only as wide as the input columns: they tell the rows apart (see _span).
            last_col = column_letter(input_span(snapshot, title) - 1)
            look_at += [f"{quote_title(title)}!A{first}:{last_col}{last}" for first, last in runs]
        sent = self._send(build.requests, guards=build.guards(), look_at=look_at)
        if sent.refusal is not None:
            return outcome(sent.refusal, written=False, rows_skipped=skipped)
        self._metadata.note_written(meta, build.added, build.heights, build.widths)
        reasons = [_skipped_reason(skipped, nothing_written=False)] if skipped else []
        landing = self._judge_fills(snapshot, verified, build, sent.rows_after)
        shifted = self._judge_columns(snapshot, verified, build, sent.rows_after)
        if shifted is not None:
            # On a tab whose columns moved, rows are judged by column, not by input cells.
            tabs = {tab for tab, _ in shifted.moved}
            landing.restore = [r for r in landing.restore if r.tab not in tabs] + shifted.restore
            landing.moved = [m for m in landing.moved if m[0] not in tabs] + shifted.moved
            landing.unknown += shifted.unknown
        if landing.moved:
            reasons.append(self._put_back(landing, meta))
        return outcome(
            "; ".join(reasons) or None,
            retry_next_cycle=bool(skipped or landing.moved),
            written=True,
            cells_written=build.written,
            rows_skipped=skipped,
        )

    def _judge_fills(
        self, snapshot: Snapshot, verified: SafeRows, build: WriteRequests, rows_after: RowsAfter
    ) -> Landing:
        """Where the filled input cells landed (see :mod:`sync.backends.google.landing`)."""
        if not build.filled:
            return Landing()
        positions = {
            title: input_positions(title, table.header) for title, table in snapshot.tables.items()
        }
        after = {
            title: rows_after.get(info.title, {})
            for title in build.filled_rows()
            if (info := build.meta.find(title)) is not None
        }
        written: dict[tuple[str, int], set[int]] = {}
        for changes in build.cells_written.values():
            for change in changes:
                written.setdefault((change.tab, change.row), set()).add(change.col)
        spans = {title: input_span(snapshot, title) for title in build.filled_rows()}
        return judge(
            build.filled, verified.current, after, snapshot.tables, positions, written, spans
        )

    def _judge_columns(
        self, snapshot: Snapshot, verified: SafeRows, build: WriteRequests, rows_after: RowsAfter
    ) -> Landing | None:
        """Cells written under another column: columns moved under the write.

        Told by each written tab's header in the write's answer; only then are the rows
        written read once more (one request), to tell which row each cell landed on."""
        landing: Landing | None = None
        for title in sorted({*build.cells_written, *build.headers_written}):
            info = build.meta.find(title)
            now = rows_after.get(info.title, {}).get(1) if info is not None else None
            if info is None or now is None:
                continue
            before = list(verified.current.get(title, {}).get(1, ()))
            ours = build.headers_written.get(title, {})
            expected = before + [None] * (max(ours, default=-1) + 1 - len(before))
            for col, header in ours.items():
                expected[col] = header
            if trimmed(now) == trimmed(expected):
                continue
            landing = landing or Landing()
            mapping = column_map(before, now, ours)
            changes = build.cells_written.get(title, [])
            if mapping is None:
                landing.moved.append((title, 1))
                landing.unknown.append(f"{title} (its columns changed in a way not followed)")
                continue
            after: dict[int, list[object]] = {}
            runs = row_runs(c.row for c in changes)
            if len(runs) > MAX_VERIFY_RANGES:
                runs = [(runs[0][0], runs[-1][1])]
            if runs:
                q = quote_title(info.title)
                answer = self.api.batch_get([f"{q}!{first}:{last}" for first, last in runs])
                for (first, _), got in zip(runs, answer, strict=False):
                    for k, row in enumerate(got.get("values") or []):
                        after[first + k] = row
            inputs = input_positions(title, before)
            judged = judge_columns(changes, mapping, after, snapshot.tables.get(title), inputs)
            landing.moved += judged.moved
            landing.restore += judged.restore
            landing.unknown += judged.unknown
            for col in ours:  # the header cells the write put over other columns' names
                was = mapping[col] if col < len(mapping) else col
                if was != col:
                    held: object = None
                    if was is not None and was < len(before):
                        held = cell_value(before[was])
                    landing.restore.append(Restore(title, 1, col, held))
        return landing

    def _put_back(self, landing: Landing, meta: Metadata) -> str:
        """Put back the input cells a write filled on rows that had moved under it."""
        requests_ = put_back_requests(landing.restore, meta)
        cells = len(landing.restore)
        what = plural(cells, "cell")
        log.warning(
            "rows or columns moved under the write: putting back %s on %s",
            what,
            plural(len(landing.moved), "row"),
        )
        refused = self._send(requests_).refusal if requests_ else None
        if refused is not None:
            where = [f"{c.tab}!{column_letter(c.col)}{c.row}" for c in landing.restore]
            more = f" and {len(where) - 10} more" if len(where) > 10 else ""
            return (
                f"rows moved in the sheet while the sync wrote, and putting back {what} "
                f"failed ({refused}); check {', '.join(where[:10])}{more}"
            )
        unknown = ""
        if landing.unknown:
            more = f" and {len(landing.unknown) - 5} more" if len(landing.unknown) > 5 else ""
            unknown = (
                f"; please check {', '.join(landing.unknown[:5])}{more}: what was there "
                "before cannot be known (a cell is left blank rather than given a guess)"
            )
        done = f"{what} put back as they were" if cells else "nothing could be put back"
        return (
            f"rows or columns moved in the sheet while the sync wrote: {done}{unknown}; "
            "the next cycle writes its cells where they belong"
        )

    def _new_sheet_id(self, taken: set[int]) -> int:
        while True:
            candidate = self.rng.randrange(1, 2**31 - 1)
            if candidate not in taken:
                return candidate

    def _send(
        self,
        requests_: Sequence[Request],
        guards: Sequence[dict[str, Any]] = (),
        look_at: Sequence[str] = (),
    ) -> Sent:
        """Send the batchUpdates, each led by ``guards``: the reason when Google refused one,
        or the rows of ``look_at`` as the last batch's answer showed them.

        A refused batchUpdate changed nothing (Google applies a batch entirely or not at all).
        ``look_at``: A1 ranges whose effective values the last batch's answer carries, as
        they are right after it was applied.
        """
        rows_after: RowsAfter = {}
        try:
            lead = [JSON.encode(guard) for guard in guards]
            parts = batches(requests_, self.max_batch_bytes - len(encode_body(lead)))
        except ValueError as err:
            raise WorkbookUnavailable(
                f"the write holds a number Google Sheets cannot take ({err}): nothing was written"
            ) from None
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            try:
                if last and look_at:
                    answer = self.api.update(
                        encode_body([*lead, *part], look_at=look_at), params=LANDED_FIELDS
                    )
                    rows_after = landed_rows(answer.json())
                else:
                    self.api.update(encode_body([*lead, *part]))
            except Refused as err:
                self._metadata.forget()  # the layout may have moved: read it again next cycle
                earlier = f" (the first {n} of {len(parts)} parts were written)" if n else ""
                if any(f"requests[{i}]." in str(err) for i in range(len(guards))):
                    return Sent(
                        _MOVED + f"nothing was written{earlier}; the next cycle reads it again"
                    )
                if self.client().last_maybe_applied:
                    return Sent(
                        "the write got no answer at first and was most likely carried out then "
                        f"(Google refused to repeat it: {err}); the next cycle checks and "
                        "completes it"
                    )
                return Sent(
                    f"Google Sheets refused the write ({err}): nothing was written{earlier}; "
                    "the next cycle reads the sheet again and retries"
                )
            except SheetsUnreachable as err:
                self._metadata.forget()
                if n:
                    raise WorkbookUnavailable(
                        f"{err} (the first {n} of {len(parts)} parts of the write went through)"
                    ) from None
                raise
        return Sent(None, rows_after)

    def _verify(self, snapshot: Snapshot, plan: WritePlan, meta: Metadata) -> SafeRows:
        """Read the rows about to be written again; keep those whose inputs did not change."""
        rows_by_tab, wanted = verify_ranges(plan, meta)
        answer = self.api.batch_get([r.a1 for r in wanted]) if wanted else []
        return safe_rows(snapshot, meta, rows_by_tab, wanted, answer)

    # --- init ------------------------------------------------------------------

    def prepare(self, layout: Layout) -> list[str]:
        meta = self.metadata(refresh=True)
        grids = self._prepare_read(layout, meta)
        done: list[str] = []
        setup = InitRequests(meta, layout, grids, self._new_sheet_id, done)
        requests_ = setup.build()
        if requests_:
            try:
                reason = self._send(requests_).refusal
            finally:
                self._metadata.forget()  # init changed the layout, or may have
            if reason:
                raise WorkbookUnavailable(reason)
        return done

    def _prepare_read(
        self, layout: Layout, meta: Metadata
    ) -> dict[str, list[list[dict[str, Any]]]]:
        """Per existing tab of the layout: its cells (effective value, validation), rows 1-2,
        or the whole tab when demo rows are to go in."""
        present = [(tab, meta.find(tab.name)) for tab in layout.tabs]
        ranges = [
            quote_title(info.title) + ("" if layout.demo else f"!1:{min(2, info.rows)}")
            for _, info in present
            if info is not None
        ]
        if not ranges:
            return {}
        params: dict[str, Any] = {
            "ranges": ranges,
            "includeGridData": "true",
            **COMPACT,
            "fields": "sheets(properties(sheetId,title),"
            "data(rowData(values(effectiveValue,dataValidation))))",
        }
        try:
            raw = self.api.metadata(params)
        except Refused as err:
            raise WorkbookUnavailable(f"Google Sheets refused to read the tabs: {err}") from None
        grids: dict[str, list[list[dict[str, Any]]]] = {}
        for sheet in raw.get("sheets") or []:
            title = str((sheet.get("properties") or {}).get("title", ""))
            data = (sheet.get("data") or [{}])[0]
            grids[title] = [list(r.get("values") or []) for r in data.get("rowData") or []]
        return grids


_MOVED = "a tab was renamed, replaced or shortened while the sync ran: "


def _skipped_reason(rows: int, *, nothing_written: bool) -> str:
    what = plural(rows, "row")
    verb, them = ("was", "it") if rows == 1 else ("were", "them")
    tail = "nothing was written; " if nothing_written else ""
    return (
        f"{what} changed in the sheet while the sync ran and {verb} left alone: {tail}"
        f"the next cycle writes {them}"
    )
