"""Real workbooks saved by other programs, each taken through creditsheet as a
practitioner adding it to their own workbook would.

For every workbook of the corpus (``tests/corpus/``, listed with its origin in
``tests/corpus/SOURCES.md``, and any folder named in ``$CREDITSHEET_CORPUS`` or
present at ``../shared/corpus/xlsx`` beside the project): copy it into a fresh
folder, write a config that points at it, and run ``creditsheet init --demo``,
``creditsheet sync`` and ``creditsheet sync`` through the command line.

The workbook is then either *kept*:

- every zip part it had is still there, in the same order, and every part the
  sync does not own is byte for byte the same;
- each of its own sheets reads back the same through python-calamine and
  openpyxl (cached formula results included);
- the demo practice's balances are written, the same as in a workbook made
  from nothing;
- the second sync, with nothing to do, leaves the file's bytes as they were;
- the structural checks of ``tests/xlsxcheck.py`` find nothing the sync added;
- LibreOffice opens the result whenever it opens the original;

or *refused*: ``init`` exits 3 with ``Error: <name> cannot be read: <reason>``
in plain words, nothing is written, and LibreOffice cannot open the file
either, or the file is encrypted (password-protected).

All the syncs of a run are done first, two workbooks at a time, and the
LibreOffice checks in as few ``soffice`` calls as possible; the tests then read
what was recorded.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree
from python_calamine import CalamineWorkbook, SheetTypeEnum

from rules.schema import DASHBOARD, TABS
from sync.backends.xlsx import calamine_book
from sync.backends.xlsx.package import Package as XlsxPackage
from sync.cli import cli
from tests import libreoffice
from tests.xlsxcheck import OFFICE_DOCUMENT, Package, check, local

HERE = Path(__file__).parent
ROOT = HERE.parent
EXTENSIONS = (".xlsx", ".xlsm")
#: Tabs of creditsheet's own: a corpus sheet of one of these names is the sync's to change.
OWN_TABS = {t.name.lower() for t in TABS} | {DASHBOARD.lower()}
STATUSES = {"Invalid", "Expired", "Exhausted", "Low", "Active"}
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: What must never reach a practitioner: exception names, tracebacks, the libraries' names.
PYTHON_WORDS = re.compile(
    r"\b[A-Z][A-Za-z]*(Error|Exception|Warning)\b|Traceback|\bErrno\b|\bzipfile\b|"
    r"\blxml\b|\bopenpyxl\b|\bcalamine\b|\betree\b"
)


def corpus_dirs() -> list[Path]:
    dirs = [HERE / "corpus"]
    dirs += [Path(d) for d in os.environ.get("CREDITSHEET_CORPUS", "").split(os.pathsep) if d]
    shared = ROOT.parent / "shared" / "corpus" / "xlsx"
    if shared.is_dir():
        dirs.append(shared)
    return dirs


def corpus() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in corpus_dirs():
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.suffix.lower() in EXTENSIONS:
                assert path.name not in found, f"two corpus files are named {path.name}"
                found[path.name] = path
    return found


CORPUS = corpus()


@dataclass
class Run:
    """What one workbook went through, recorded for the tests to read."""

    name: str
    path: Path
    original: bytes
    codes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    after_first_sync: bytes | None = None
    after: bytes = b""
    beside: list[str] = field(default_factory=list)
    libreoffice_opens_original: bool | None = None
    libreoffice_opens_result: bool | None = None

    @property
    def kept(self) -> bool:
        return self.codes == [0, 0, 0]

    @property
    def refused(self) -> bool:
        return bool(self.codes) and self.codes[0] == 3


CONFIG = """\
[workbook]
path = "{name}"

[sync]
timezone = "Europe/London"

[email]
to = ["you@example.com"]
"""


def take_through(name: str, source: Path, folder: Path) -> Run:
    """init --demo, sync, sync: what a practitioner runs, in-process through the CLI."""
    folder.mkdir(parents=True)
    path = folder / name
    original = source.read_bytes() if source.exists() else b""
    if original:
        path.write_bytes(original)
    config = folder / "config.toml"
    config.write_text(CONFIG.format(name=name))
    run = Run(name=name, path=path, original=original)
    runner = CliRunner()
    for step, command in enumerate((["init", "--demo"], ["sync"], ["sync"])):
        result = runner.invoke(cli, [*command, "--config", str(config)])
        run.codes.append(result.exit_code)
        run.errors.append(result.stderr)
        if step == 1 and path.exists():
            run.after_first_sync = path.read_bytes()
        if result.exit_code != 0:
            break
    run.after = path.read_bytes() if path.exists() else b""
    run.beside = sorted(p.name for p in folder.iterdir() if p.name not in {name, config.name})
    return run


def _take_through(args: tuple[str, Path, Path]) -> Run:
    return take_through(*args)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The demo practice in a workbook made from nothing, to compare balances with."""
    folder = tmp_path_factory.mktemp("reference")
    return take_through("practice.xlsx", folder / "none.xlsx", folder / "w")


@pytest.fixture(scope="session")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Run]:
    """Every selected corpus workbook taken through, then shown to LibreOffice."""
    names = sorted(
        {
            item.callspec.params["name"]
            for item in request.session.items
            if item.module is not None
            and item.module.__name__ == __name__
            and hasattr(item, "callspec")
            and "name" in item.callspec.params
        }
    )
    base = tmp_path_factory.mktemp("corpus")
    jobs = [(name, CORPUS[name], base / f"{i:03d}") for i, name in enumerate(names)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        done = {run.name: run for run in pool.map(_take_through, jobs, chunksize=4)}
    originals = [CORPUS[name] for name in names]
    results = [done[n].path for n in names if done[n].kept]
    opened = libreoffice.opens([*originals, *results], tmp_path_factory.mktemp("soffice"))
    for name in names:
        run = done[name]
        run.libreoffice_opens_original = opened[CORPUS[name]]
        if run.kept:
            run.libreoffice_opens_result = opened[run.path]
    return done


def encrypted(data: bytes) -> bool:
    """An OOXML file saved with a password is an OLE container holding EncryptionInfo."""
    return data.startswith(CFB_MAGIC) and "EncryptionInfo".encode("utf-16-le") in data


def declares_a_dtd(data: bytes) -> bool:
    """Whether a part declares a DTD, which the Open Packaging Conventions forbid and
    Excel refuses (it is how an "XML bomb" expands a few bytes into gigabytes)."""
    try:
        return any(b"<!DOCTYPE" in part[:4096] for _, part in members(data))
    except zipfile.BadZipFile:
        return False


def members(data: bytes) -> list[tuple[str, bytes]]:
    """The package's parts in zip order (folder entries, which hold nothing, left out)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            (i.filename, archive.read(i.filename)) for i in archive.infolist() if not i.is_dir()
        ]


def content_types(data: bytes) -> dict[str, str]:
    """Each part's declared content type, by name (overrides only: the ones that say what
    a part is, such as the macro-enabled workbook of an .xlsm)."""
    index = dict(members(data)).get("[Content_Types].xml")
    if index is None:
        return {}
    tree = etree.fromstring(index)
    return {
        o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
        for o in tree
        if isinstance(o.tag, str) and o.tag.endswith("}Override")
    }


def owned_parts(data: bytes) -> set[str]:
    """The parts a sync that adds tabs and writes cells may change: the package's
    index of content types, the workbook part and its relationships, styles and
    shared strings (where the workbook points, or at their usual names when it points
    nowhere), the extended properties (their list of tab names), and any sheet named
    like one of creditsheet's own tabs, with its relationships."""
    package = Package(dict(members(data)))
    owned = {"[Content_Types].xml", "docProps/app.xml", "xl/styles.xml", "xl/sharedStrings.xml"}
    workbook = next(
        (t for _, kind, t in package.relationships("") if kind.lower().endswith(OFFICE_DOCUMENT)),
        "xl/workbook.xml",
    )
    owned |= {workbook, rels_of(workbook)}
    by_id = {rel_id: (kind, target) for rel_id, kind, target in package.relationships(workbook)}
    owned |= {t for k, t in by_id.values() if k.lower().endswith(("/styles", "/sharedstrings"))}
    tree = package.xml(workbook)
    for sheet in tree.iter() if tree is not None else []:
        if local(sheet.tag) != "sheet" or sheet.get("name", "").strip().lower() not in OWN_TABS:
            continue
        rel_id = next((v for k, v in sheet.attrib.items() if local(k) == "id"), None)
        if rel_id in by_id:
            owned |= {by_id[rel_id][1], rels_of(by_id[rel_id][1])}
    return owned


def rels_of(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def calamine_values(data: bytes) -> dict[str, list[list[Any]]] | str:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return {
            meta.name: book.get_sheet_by_name(meta.name).to_python()
            for meta in book.sheets_metadata
            if meta.typ == SheetTypeEnum.WorkSheet and meta.name.strip().lower() not in OWN_TABS
        }
    except Exception as err:  # any failure to read is an answer here, compared below
        return f"unreadable: {err}"


def openpyxl_values(data: bytes) -> dict[str, list[tuple[int, int, Any]]] | str:
    """Each sheet's cells that hold a value, as (row, column, value) in order: a sheet's
    grid may reach the last row and column (a program that styles a whole sheet writes
    empty cells out to XFD1048576), and listing every cell of it takes terabytes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        return {
            sheet.title: sorted(
                (row, col, cell.value)
                for (row, col), cell in sheet._cells.items()
                if cell.value is not None
            )
            for sheet in book.worksheets
            if sheet.title.strip().lower() not in OWN_TABS
        }
    except Exception as err:  # any failure to read is an answer here, compared below
        return f"unreadable: {err}"


def computed(data: bytes) -> dict[str, list[list[Any]]]:
    """The demo tabs' rows as the sync left them (IDs, balances, statuses, notes), read
    by calamine as the sync reads them (a file calamine refuses or misreads, such as
    one holding a macro sheet, in a copy of the usual layout)."""
    book = calamine_book(XlsxPackage(data), data)
    names = {m.name.strip().lower(): m.name for m in book.sheets_metadata}
    tabs = {}
    for tab in ("Clients", "Packages", "Sessions"):
        rows = book.get_sheet_by_name(names[tab.lower()]).to_python()
        tabs[tab] = [row for row in rows if any(v not in ("", None) for v in row)]
    return tabs


def difference(before: list[Any], after: list[Any]) -> str | None:
    """Where two lists of rows first differ, in a line; None when they are the same.
    (pytest's own diff of two large sheets takes minutes and gigabytes.)"""
    if before == after:
        return None
    for number, (old, new) in enumerate(zip(before, after, strict=False), start=1):
        if old != new:
            return f"row {number} was {repr(old)[:300]}, now {repr(new)[:300]}"
    return f"{len(before)} rows, now {len(after)}"


def cases() -> Iterator[Any]:
    for name in CORPUS:
        yield pytest.param(name, id=name)


@pytest.fixture(params=list(cases()))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(runs: dict[str, Run], name: str) -> Run:
    return runs[name]


def test_the_corpus_is_there_and_each_file_says_where_it_comes_from() -> None:
    committed = [p for p in CORPUS.values() if p.parent == HERE / "corpus"]
    assert len(committed) >= 40
    sources = (HERE / "corpus" / "SOURCES.md").read_text()
    assert [p.name for p in committed if f"`{p.name}`" not in sources] == []


def test_each_workbook_is_kept_or_refused_in_plain_words(run: Run) -> None:
    if run.kept:
        return
    assert run.refused, (
        f"exit statuses {run.codes} (0 0 0 when kept, 3 when refused); stderr: {run.errors[-1]!r}"
    )
    message = run.errors[0].strip()
    match = re.fullmatch(rf"Error: (?:.*[/\\])?{re.escape(run.name)} cannot be read: (.+)", message)
    assert match, f"not the refusal's wording: {message!r}"
    assert not PYTHON_WORDS.search(match.group(1)), f"not in plain words: {message!r}"
    assert (
        encrypted(run.original)
        or declares_a_dtd(run.original)
        or not run.libreoffice_opens_original
    ), f"refused ({message!r}), but LibreOffice opens it and it is not encrypted"


def test_nothing_is_lost_and_nothing_it_does_not_own_changes(run: Run) -> None:
    leftovers = [n for n in run.beside if not n.startswith(("creditsheet-state", "outbox"))]
    assert not leftovers, f"files left beside the workbook: {leftovers}"
    if not run.kept:
        assert run.after == run.original, "a refused workbook was written"
        return
    before, after = members(run.original), dict(members(run.after))
    missing = [name for name, _ in before if name not in after]
    assert not missing, f"parts lost: {missing}"
    owned = owned_parts(run.original)
    changed = [name for name, data in before if name not in owned and after[name] != data]
    assert not changed, f"parts the sync does not own were changed: {changed}"
    order = [name for name, _ in members(run.after) if name in dict(before)]
    assert order == [name for name, _ in before], "the parts are no longer in their order"
    kinds_before, kinds_after = content_types(run.original), content_types(run.after)
    changed_kinds = {n: k for n, k in kinds_before.items() if kinds_after.get(n) != k}
    assert not changed_kinds, f"content types changed (an .xlsm must stay one): {changed_kinds}"


def test_its_own_sheets_read_back_the_same(run: Run) -> None:
    if not run.kept:
        assert run.after == run.original, "a refused workbook was written"
        return
    for reader in (calamine_values, openpyxl_values):
        before = reader(run.original)
        if isinstance(before, str):
            continue  # this reader cannot read the original: there is nothing to compare
        after = reader(run.after)
        assert not isinstance(after, str), f"{reader.__name__}: the result is {after}"
        lost = sorted(before.keys() - after.keys())
        assert not lost, f"{reader.__name__}: sheets lost: {lost}"
        for sheet, rows in before.items():
            changed = difference(rows, after[sheet])
            assert changed is None, f"{reader.__name__}: sheet {sheet!r}: {changed}"


def test_balances_are_written_and_the_idle_sync_writes_nothing(run: Run, reference: Run) -> None:
    if not run.kept:
        assert run.after == run.original, "a refused workbook was written"
        return
    assert reference.kept, reference.errors
    assert run.after_first_sync is not None
    expected, found = computed(reference.after), computed(run.after_first_sync)
    for tab, rows in expected.items():
        changed = difference(rows, found[tab])
        assert changed is None, f"{tab}: {changed}"
    packages = computed(run.after)["Packages"]
    status = packages[0].index("Status")
    assert {row[status] for row in packages[1:]} <= STATUSES
    assert run.after == run.after_first_sync, "the idle sync changed the file"


def test_the_sync_adds_nothing_excel_would_repair(run: Run) -> None:
    if not run.kept:
        assert run.after == run.original, "a refused workbook was written"
        return
    added = sorted(set(check(run.after)) - set(check(run.original)))
    assert not added, added


def test_libreoffice_opens_what_it_opened_before(run: Run) -> None:
    if not run.kept:
        assert run.after == run.original, "a refused workbook was written"
        return
    if run.libreoffice_opens_original:
        assert run.libreoffice_opens_result, "LibreOffice opens the original but not the result"
