"""``make bench --out``: the rows it measured replace theirs, every other row stays."""

from __future__ import annotations

import ast
from pathlib import Path

from bench.__main__ import BEGIN, END, HEADER, write_results

ROOT = Path(__file__).resolve().parent.parent


def row(sessions: int, backend: str, case: str, total: str, cells: int = 7749) -> str:
    cells_ = [f"{sessions:,}", f"{cells:,}", backend, case, total, *["x"] * 9]
    return "| " + " | ".join(cells_) + " |"


def table(*rows: str) -> str:
    return "\n".join([HEADER, *rows])


def doc(tmp_path: Path) -> Path:
    path = tmp_path / "performance.md"
    path.write_text(
        "# Performance\n\nBefore.\n\n"
        f"{BEGIN}\nxlsx, measured on machine A.\n\n"
        + table(row(1000, "xlsx", "first", "1.00"), row(10000, "xlsx", "first", "2.00"))
        + "\n\ngoogle, measured on machine B.\n\n"
        + table(row(1000, "google", "first", "3.00"), row(10000, "google", "idle", "4.00"))
        + f"\n{END}\n\nAfter.\n"
    )
    return path


def test_one_backend_keeps_the_other_backends_rows(tmp_path: Path) -> None:
    path = doc(tmp_path)
    write_results(path, [row(1000, "xlsx", "first", "9.00")], "machine A")
    text = path.read_text()
    assert row(1000, "google", "first", "3.00") in text
    assert row(10000, "google", "idle", "4.00") in text
    assert "google, measured on machine B." in text
    assert row(1000, "xlsx", "first", "9.00") in text
    assert row(1000, "xlsx", "first", "1.00") not in text
    assert row(10000, "xlsx", "first", "2.00") in text  # a size not re-measured
    assert (
        "xlsx, measured on machine A. The rows for 10,000 sessions are from an earlier run.\n"
        in text
    )
    assert text.startswith("# Performance\n\nBefore.\n\n") and text.endswith("\nAfter.\n")
    assert text.count(BEGIN) == 1 and text.count(END) == 1


def test_rows_kept_from_another_machine_say_so(tmp_path: Path) -> None:
    path = doc(tmp_path)
    write_results(path, [row(1000, "google", "first", "5.00")], "machine C")
    text = path.read_text()
    assert (
        "google, measured on machine C. The rows for 10,000 sessions are from an earlier "
        "run: google, measured on machine B." in text
    )
    assert text.index(row(1000, "google", "first", "5.00")) < text.index(
        row(10000, "google", "idle", "4.00")
    )
    assert "xlsx, measured on machine A." in text and row(1000, "xlsx", "first", "1.00") in text


def test_a_new_ceiling_replaces_the_old_ones_rows(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    old = [row(1000, "xlsx", "first", "1.00"), row(1_289_000, "xlsx", "first", "60.00", 9_941_449)]
    path.write_text(f"{BEGIN}\nxlsx, measured on machine A.\n\n{table(*old)}\n{END}\n")
    write_results(path, [row(1_277_000, "xlsx", "first", "50.00", 9_944_683)], "machine A")
    text = path.read_text()
    assert row(1_277_000, "xlsx", "first", "50.00", 9_944_683) in text
    assert "1,289,000" not in text
    assert row(1000, "xlsx", "first", "1.00") in text


def test_an_older_block_with_both_backends_in_one_table_is_split(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    both = table(row(1000, "xlsx", "first", "1.00"), row(1000, "google", "first", "3.00"))
    path.write_text(f"{BEGIN}\nMeasured on machine A.\n\n{both}\n{END}\n")
    write_results(path, [row(1000, "xlsx", "first", "9.00")], "machine A")
    text = path.read_text()
    assert "xlsx, measured on machine A.\n\n" + table(row(1000, "xlsx", "first", "9.00")) in text
    assert "Measured on machine A.\n\n" + table(row(1000, "google", "first", "3.00")) in text


def test_a_missing_file_gets_the_block(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    write_results(path, [row(1000, "xlsx", "first", "9.00")], "machine A")
    assert path.read_text() == (
        f"# Performance\n\n{BEGIN}\nxlsx, measured on machine A.\n\n"
        + table(row(1000, "xlsx", "first", "9.00"))
        + f"\n{END}\n"
    )


def test_the_bench_imports_nothing_from_the_tests() -> None:
    for source in (ROOT / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.split(".")[0] == "tests"], source.name


def test_the_calendar_case_reads_every_booking_its_feed_holds() -> None:
    from bench.case import read_calendar

    out = read_calendar(60)
    # A series (one event in ten) holds seven bookings: up to six more than asked for.
    found, size = out["bookings"], out["bytes"]
    assert isinstance(found, int) and 60 <= found <= 66
    assert isinstance(size, int) and size > 0
