"""A worksheet packed as it is made: one valid deflate stream, the right CRC, any reader."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from hypothesis import given
from hypothesis import strategies as st

from sync.backends.xlsx.package import Package, Packed, _without_zip64, crc32_combine


@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_crc32_combine_is_the_crc_of_the_two_joined(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@given(
    st.binary(max_size=2000),
    st.lists(st.binary(max_size=5000), max_size=8),
)
def test_a_head_packed_last_reads_back_in_front(head: bytes, pieces: list[bytes]) -> None:
    packed = Packed()
    for piece in pieces:
        packed.add(memoryview(piece))
    packed.finish(head)
    whole = head + b"".join(pieces)
    assert zlib.decompress(b"".join(packed.chunks), -15) == whole  # zlib, not ISA-L
    assert packed.size == len(whole)
    assert packed.crc == zlib.crc32(whole)
    assert packed.unpacked() == whole


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return buffer.getvalue()


def test_a_packed_part_is_saved_as_an_entry_zipfile_reads_and_checks() -> None:
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(1, 50_000)
    )
    package = Package(
        _zip(
            {
                "[Content_Types].xml": b"<Types/>",
                "xl/workbook.xml": b"<workbook/>",
                "xl/worksheets/sheet1.xml": b"<worksheet><sheetData/></worksheet>",
                "docProps/app.xml": b"<Properties/>",
            }
        )
    )
    packed = Packed()
    packed.add(b"<sheetData>")
    packed.add(rows)
    packed.add(b"</sheetData></worksheet>")
    packed.finish(b'<worksheet><dimension ref="A1:A49999"/>')
    package.set_packed("xl/worksheets/sheet1.xml", packed)
    out = io.BytesIO()
    package.save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as saved:
        assert saved.testzip() is None  # every entry's CRC checked
        assert [i.filename for i in saved.infolist()] == [
            "[Content_Types].xml",
            "xl/workbook.xml",
            "xl/worksheets/sheet1.xml",
            "docProps/app.xml",
        ]
        assert saved.read("xl/worksheets/sheet1.xml") == (
            b'<worksheet><dimension ref="A1:A49999"/><sheetData>'
            + rows
            + b"</sheetData></worksheet>"
        )
    again = Package(out.getvalue())
    assert again.read("xl/worksheets/sheet1.xml").endswith(b"</sheetData></worksheet>")


def test_an_entrys_zip64_sizes_are_left_for_the_writer_and_its_other_extras_kept() -> None:
    stamp = struct.pack("<HHBI", 0x5455, 5, 1, 1_700_000_000)
    zip64 = struct.pack("<HHQQ", 0x0001, 16, 5_000_000_000, 600_000_000)
    owner = struct.pack("<HHBBIBI", 0x7875, 11, 1, 4, 1000, 4, 1000)
    assert _without_zip64(stamp + zip64 + owner) == stamp + owner
    assert _without_zip64(b"") == b""
