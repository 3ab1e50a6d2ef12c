"""A Sessions tab whose ``Client`` cells are formulas, in a workbook saved by LibreOffice.

``fixtures/libreoffice-client-formulas.xlsx`` holds one client (Maya Patel), one
10-session package and five attended sessions whose ``Client`` cells are the
formula ``=Clients!$A$2``. It was built by :func:`make_fixture` and then opened
and saved by LibreOffice Calc 7.4 (``soffice --convert-to xlsx``), so each
formula carries the result LibreOffice computed for it ("Maya Patel").

The sync reads a formula cell by its cached result. If a save drops those
results, the next sync reads the cells as blank and turns every session
``Invalid`` ("Client: blank"): the ledger flips on every other sync. Three syncs
in a row must leave all five sessions ``Deducted``, and every formula with its
text and its result.

To make the fixture again: ``python -m tests.test_libreoffice_formulas``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from sync.cli import cli
from tests.test_corpus import CONFIG

FIXTURE = Path(__file__).parent / "fixtures" / "libreoffice-client-formulas.xlsx"
FORMULA = "=Clients!$A$2"


def make_fixture(target: Path) -> None:
    """Build the workbook with openpyxl, then have LibreOffice open and save it."""
    book = openpyxl.Workbook()
    clients = book.active
    clients.title = "Clients"
    clients.append(["Client", "Email", "Billing", "Credits left", "Sync note"])
    clients.append(["Maya Patel", "maya@example.com", "Package"])
    packages = book.create_sheet("Packages")
    packages.append(
        ["Package ID", "Client", "Package", "Template", "Sessions", "Price", "Purchased",
         "Expires", "Adjust", "Shared with", "Used", "Remaining", "Status", "Progress",
         "Sync note"]
    )  # fmt: skip
    packages.append(["P-0001", "Maya Patel", "10-Session Pack", None, 10, 450, date(2026, 11, 1)])
    sessions = book.create_sheet("Sessions")
    sessions.append(["Date", "Client", "Package ID", "Outcome", "Notes", "Status", "Sync note"])
    for day in range(2, 7):
        sessions.append([date(2026, 11, day), FORMULA, None, "Attended"])
    for sheet in (packages, sessions):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
    with tempfile.TemporaryDirectory() as work:
        built = Path(work) / "built.xlsx"
        book.save(built)
        out = Path(work) / "out"
        subprocess.run(
            ["soffice", f"-env:UserInstallation={(Path(work) / 'profile').as_uri()}",
             "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
             str(built)],
            check=True, capture_output=True,
        )  # fmt: skip
        shutil.copyfile(out / "built.xlsx", target)


def sync(config: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", "--config", str(config)])
    assert result.exit_code == 0, result.stderr


def sessions_sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        book = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        rel_id = re.search(r'<sheet name="Sessions"[^>]*r:id="(\w+)"', book)
        assert rel_id
        target = re.search(rf'Id="{rel_id.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'Target="([^"]+)"[^>]*Id="{rel_id.group(1)}"', rels
        )
        assert target
        name = target.group(1).lstrip("/")
        return archive.read(name if name.startswith("xl/") else f"xl/{name}").decode()


def test_the_fixture_was_saved_by_libreoffice_with_the_formulas_results() -> None:
    with zipfile.ZipFile(FIXTURE) as archive:
        assert b"LibreOffice" in archive.read("docProps/app.xml")
    cells = re.findall(r"<c r=\"B\d+\"[^>]*>(.*?)</c>", sessions_sheet_xml(FIXTURE))
    formulas = [c for c in cells if "<f" in c]
    assert len(formulas) == 5
    assert all("<v>Maya Patel</v>" in c for c in formulas)


def test_three_syncs_keep_the_sessions_deducted_and_the_formulas_whole(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    shutil.copyfile(FIXTURE, path)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(name=path.name))
    for cycle in range(1, 4):
        sync(config)
        values = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
        sessions = values["Sessions"]
        header = [c.value for c in sessions[1]]
        status = header.index("Status") + 1
        rows = range(2, 7)
        assert [sessions.cell(r, status).value for r in rows] == ["Deducted"] * 5, cycle
        assert [sessions.cell(r, 2).value for r in rows] == ["Maya Patel"] * 5, cycle
        assert [formulas["Sessions"].cell(r, 2).value for r in rows] == [FORMULA] * 5, cycle
        packages = values["Packages"]
        header = [c.value for c in packages[1]]
        remaining = packages.cell(2, header.index("Remaining") + 1).value
        assert remaining == 5, cycle


if __name__ == "__main__":
    make_fixture(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE)
