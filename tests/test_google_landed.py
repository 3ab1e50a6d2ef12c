"""Judging where filled input cells landed, from the rows right after the write."""

from __future__ import annotations

from rules.model import Table
from sync.backends.base import CellChange
from sync.backends.google import GoogleBackend
from sync.backends.google.landing import Landing, Restore, column_map, judge, judge_columns
from sync.cycle import run_cycle
from tests.contract.test_contract import CONFIG, NOW
from tests.sheetsfake import GOOGLE_BASE_URL, FakeSheets

HEADER = ["Date", "Client", "Package ID", "Outcome"]
READ = Table(
    "Sessions",
    HEADER,
    [
        [46000, "Ann", None, "Attended"],  # row 2
        [46001, "Bob", "P-0003", "Attended"],  # row 3
        [46002, "Cy", None, "Attended"],  # row 4
    ],
)
POSITIONS = {"Sessions": [0, 1, 2, 3], "Packages": [0, 1]}


def fill(row: int, value: str, tab: str = "Sessions", col: int = 2) -> CellChange:
    return CellChange(tab, row, col, "Package ID", None, value, "text", None, True, False, True)


def rows(table: Table) -> dict[int, list[object]]:
    return {i + 2: list(r) for i, r in enumerate(table.rows)}


def sessions_judged(
    row: int, value: str, after: dict[int, list[object]], read: Table = READ
) -> Landing:
    """One Sessions Package ID fill, judged against the rows right after the write."""
    return judge(
        [fill(row, value)],
        {"Sessions": rows(read)},
        {"Sessions": after},
        {"Sessions": read},
        POSITIONS,
    )


def test_a_fill_on_its_own_row_stays() -> None:
    after = rows(READ)
    after[2][2] = "P-0001"
    landing = sessions_judged(2, "P-0001", after)
    assert not landing
    assert landing.moved == [] and landing.unknown == []


def test_a_fill_on_a_row_moved_there_gets_that_rows_typed_value_back() -> None:
    # A person deleted row 2 in the round trip: Bob's row (typed P-0003) moved up to row
    # 2 and the fill meant for Ann overwrote it.
    after = {2: [46001, "Bob", "P-0001", "Attended"], 3: [46002, "Cy", None, "Attended"]}
    landing = sessions_judged(2, "P-0001", after)
    assert landing.moved == [("Sessions", 2)]
    assert landing.restore == [Restore("Sessions", 2, 2, "P-0003")]
    assert landing.unknown == []


def test_a_fill_on_a_newly_inserted_empty_row_is_cleared() -> None:
    after = {2: [None, None, "P-0001"], 3: [46000, "Ann", None, "Attended"]}
    landing = sessions_judged(2, "P-0001", after)
    assert landing.restore == [Restore("Sessions", 2, 2, None)]
    assert landing.unknown == []


def test_a_fill_on_a_row_nobody_can_place_is_cleared_and_reported() -> None:
    # The row's own inputs were edited in the round trip: not a row the cycle read.
    after = {2: [46000, "Ann B", "P-0001", "Attended"]}
    landing = sessions_judged(2, "P-0001", after)
    assert landing.restore == [Restore("Sessions", 2, 2, None)]
    assert landing.unknown == ["Sessions!C2"]


def test_rows_that_read_alike_but_held_different_values_are_not_guessed() -> None:
    twins = Table(
        "Sessions",
        HEADER,
        [
            [46000, "Ann", "P-0001", "Attended"],
            [46000, "Ann", "P-0002", "Attended"],
            [46009, "Di", None, "Attended"],
        ],
    )
    after = {4: [46000, "Ann", "P-0009", "Attended"]}  # a sort put one of the twins at row 4
    landing = sessions_judged(4, "P-0009", after, twins)
    assert landing.restore == [Restore("Sessions", 4, 2, None)]
    assert landing.unknown == ["Sessions!C4"]


def test_a_new_package_id_taken_back_is_taken_back_from_its_sessions_too() -> None:
    packages = Table("Packages", ["Package ID", "Client"], [[None, "Ann"], ["P-0003", "Bob"]])
    before = {"Packages": rows(packages), "Sessions": rows(READ)}
    # Ann's package row moved away before the write: its new ID landed on Bob's row.
    after_packages = {2: ["P-0004", "Bob"]}
    after_sessions = rows(READ)
    after_sessions[2][2] = "P-0004"  # Ann's session, on its own row, given the new ID
    changes = [fill(2, "P-0004", tab="Packages", col=0), fill(2, "P-0004")]
    landing = judge(
        changes,
        before,
        {"Packages": after_packages, "Sessions": after_sessions},
        {"Packages": packages, "Sessions": READ},
        POSITIONS,
    )
    assert landing.moved == [("Packages", 2)]
    assert Restore("Packages", 2, 0, "P-0003") in landing.restore
    assert Restore("Sessions", 2, 2, None) in landing.restore
    assert len(landing.restore) == 2


HEADER_READ = ["Date", "Client", "Package ID", "Outcome", "Notes"]


def test_a_header_as_verified_plus_the_writes_own_cells_has_no_shift() -> None:
    now = [*HEADER_READ, "Status", "Sync note"]
    assert column_map(HEADER_READ, now, ours={5, 6}) == list(range(7))


def test_a_column_inserted_shifts_the_columns_after_it() -> None:
    # A blank column inserted at C; the write's own "Status" header landed on Notes' cell.
    now = ["Date", "Client", None, "Package ID", "Outcome", "Status", "Sync note"]
    assert column_map(HEADER_READ, now, ours={5, 6}) == [0, 1, None, 2, 3, 4, 5]


def test_a_column_deleted_shifts_the_columns_after_it_back() -> None:
    # Package ID deleted: the write's own headers still went to F and G.
    now = ["Date", "Client", "Outcome", "Notes", None, "Status", "Sync note"]
    assert column_map(HEADER_READ, now, ours={5, 6}) == [0, 1, 3, 4, 5, 6, 7]


def test_columns_reordered_tell_no_story() -> None:
    now = ["Client", "Date", "Package ID", "Outcome", "Notes"]
    assert column_map(HEADER_READ, now, ours=set()) is None


def test_a_cell_written_into_a_shifted_column_gets_that_columns_value_back() -> None:
    read = Table("Sessions", HEADER_READ, [[46000, "Ann", None, "Attended", "knee"]])
    status = CellChange("Sessions", 2, 5, "Status", None, "Deducted", "text", "#B7E1CD", True, True)
    # After a column inserted at C: Notes moved from E to F, where Status was written.
    after = {2: [46000, "Ann", None, None, "Attended", "Deducted"]}
    mapping = [0, 1, None, 2, 3, 4, 5]
    landing = judge_columns([status], mapping, after, read, inputs=[0, 1, 2, 3, 4])
    assert landing.moved == [("Sessions", 2)]
    assert landing.restore == [Restore("Sessions", 2, 5, "knee", clear_color=True)]
    assert landing.unknown == []


# --- end to end, against the Sheets fake ------------------------------------------------


def test_a_row_deleted_in_the_round_trip_before_the_write_keeps_the_typed_id_it_moved_onto() -> (
    None
):
    """Ann's blank Package ID is verified and about to be filled when a person deletes her
    row: Bob's row moves up under the write, which fills his typed ID. The write's own
    answer shows it, and the cycle puts his ID back and says so."""
    fake = FakeSheets(seed=5)
    with fake.mocked():
        sid = fake.create_spreadsheet(
            "Practice",
            {
                "Clients": [["Client"], ["Ann Lee"], ["Bob Stone"]],
                "Packages": [
                    ["Package ID", "Client", "Sessions", "Purchased"],
                    ["P-0001", "Ann Lee", 5, 46000],
                    ["P-0002", "Bob Stone", 5, 46000],
                ],
                "Sessions": [
                    ["Date", "Client", "Package ID"],
                    [46300, "Ann Lee", None],
                    [46301, "Bob Stone", "P-0002"],
                ],
            },
        )
        backend = GoogleBackend(sid, endpoint=GOOGLE_BASE_URL, sleep=lambda s: None)
        reads = [0]

        def person() -> None:
            reads[0] += 1
            if reads[0] == 2:  # the verification read was answered: the write comes next
                fake.delete_rows(sid, "Sessions", 2)

        fake.between_requests(person, kind="values.batchGet", times=2)
        report = run_cycle(CONFIG, backend, now=NOW)
        assert reads[0] == 2
        assert report.outcome.written and report.outcome.retry_next_cycle
        assert "put back as they were" in (report.outcome.reason or "")
        rows = fake.values(sid, "Sessions")
        assert rows[1][:3] == [46301, "Bob Stone", "P-0002"]
        # The next cycle works the sheet out again from what is there now.
        run_cycle(CONFIG, backend, now=NOW)
        assert fake.values(sid, "Sessions")[1][:3] == [46301, "Bob Stone", "P-0002"]
