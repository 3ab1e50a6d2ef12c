"""``init`` and the Session types tab, on both backends.

The tab is optional: ``init`` never adds it, nor the ``Type`` column it goes
with, to a workbook that does not have it; where the practitioner made it,
``init`` prepares its header and puts a dropdown on ``Sessions.Type`` listing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from rules.schema import TABS
from sync.backends.base import Backend, Layout
from tests.contract.harness import GoogleHarness, XlsxHarness

LAYOUT = Layout(tabs=TABS)
SESSIONS = [["Date", "Client", "Package ID", "Outcome", "Notes"]]
TYPES = [["Type", "Credits"], ["Group", 1], ["Massage 90", 2]]


@pytest.fixture
def google() -> Iterator[GoogleHarness]:
    made = GoogleHarness(Path())
    yield made
    made.close()


def xlsx(folder: Path, tabs: dict[str, list[list[object]]]) -> tuple[Backend, Path]:
    harness = XlsxHarness(folder)
    return harness.create(tabs), harness.path


def test_xlsx_init_without_the_tab_adds_neither_it_nor_a_type_column(tmp_path: Path) -> None:
    backend, path = xlsx(tmp_path, {"Sessions": SESSIONS})
    done = backend.prepare(LAYOUT)
    wb = openpyxl.load_workbook(path)
    assert "Session types" not in wb.sheetnames
    assert [c.value for c in wb["Sessions"][1]] == [*SESSIONS[0], "Status", "Sync note"]
    assert not any("Type" in line for line in done)


def test_xlsx_init_puts_a_dropdown_on_type_from_the_session_types_tab(tmp_path: Path) -> None:
    backend, path = xlsx(tmp_path, {"Sessions": SESSIONS, "session types": TYPES})
    done = backend.prepare(LAYOUT)
    assert "Sessions: added a dropdown to Type" in done
    wb = openpyxl.load_workbook(path)
    header = [c.value for c in wb["Sessions"][1]]
    assert header == [*SESSIONS[0], "Type", "Status", "Sync note"]
    (rule,) = [dv for dv in wb["Sessions"].data_validations.dataValidation if "F2" in dv.sqref]
    assert rule.formula1 == "'session types'!$A$2:$A$5000"
    assert [c.value for c in wb["session types"][1]] == ["Type", "Credits"]


def test_google_init_without_the_tab_adds_neither_it_nor_a_type_column(
    google: GoogleHarness,
) -> None:
    google.create({"Sessions": SESSIONS}).prepare(LAYOUT)
    fake, sid = google.fake, google.sid
    titles = [s["properties"]["title"] for s in fake.metadata(sid)["sheets"]]
    assert "Session types" not in titles
    assert fake.values(sid, "Sessions")[0] == [*SESSIONS[0], "Status", "Sync note"]


def test_google_init_puts_a_dropdown_on_type_from_the_session_types_tab(
    google: GoogleHarness,
) -> None:
    done = google.create({"Sessions": SESSIONS, "Session types": TYPES}).prepare(LAYOUT)
    fake, sid = google.fake, google.sid
    assert "Sessions: added a dropdown to Type" in done
    assert fake.values(sid, "Sessions")[0] == [*SESSIONS[0], "Type", "Status", "Sync note"]
    rule = fake.cell(sid, "Sessions", "F2").data_validation
    assert rule is not None and rule["condition"] == {
        "type": "ONE_OF_RANGE",
        "values": [{"userEnteredValue": "='Session types'!$A$2:$A"}],
    }
