"""The zip container of an xlsx workbook: its parts, relationships and content types.

A :class:`Package` holds the parts as they were read. Parts the write changes
or adds are set on it; :meth:`Package.save` writes every part that was there,
in the same order under the same name (untouched parts with the same bytes),
then the new ones. Small XML parts (the workbook, relationships, content
types, the calc chain) are edited as trees; worksheets are streamed elsewhere.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, cast

from isal import isal_zlib
from lxml import etree

REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
#: ISA-L's error for a broken deflate stream (its type stubs declare it as an instance).
_BROKEN_DEFLATE = cast("type[Exception]", isal_zlib.error)


class Unreadable(Exception):
    """The package cannot be read or written; the message is in plain words."""


def parse_xml(data: bytes, name: str) -> etree._Element:
    """A part's XML tree; a part that is not well-formed is :class:`Unreadable`."""
    try:
        return etree.fromstring(
            data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True)
        )
    except etree.XMLSyntaxError:
        raise Unreadable(f"its part {name} is damaged (not well-formed XML)") from None


def to_bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def children(parent: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str) and local(c.tag) == name]


def child(parent: etree._Element, name: str) -> etree._Element | None:
    found = children(parent, name)
    return found[0] if found else None


@dataclass(frozen=True)
class SheetEntry:
    """A tab as the workbook lists it."""

    title: str
    sheet_id: int
    part: str  # the worksheet part's name in the zip (None-like "" for chart sheets)
    position: int  # 0-based, in tab order


class Packed:
    """A part packed as it is made, so a large worksheet is never held whole unpacked.

    Pieces are deflated (ISA-L, level 1) as they are added. The head of the part,
    known only once the rest is made (its used range grows with what was written),
    is packed last on its own and put in front: a deflate stream flushed to a byte
    boundary (not final) followed by another stream is one valid deflate stream,
    and the CRC of the whole is combined from the two.
    """

    def __init__(self) -> None:
        self._packer = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
        self.crc = 0
        self.size = 0
        self.chunks: list[bytes] = []

    def add(self, piece: bytes | memoryview) -> None:
        if not piece:
            return
        self.crc = isal_zlib.crc32(piece, self.crc)
        self.size += len(piece)
        packed = self._packer.compress(piece)
        if packed:
            self.chunks.append(packed)

    def finish(self, head: bytes = b"") -> None:
        """The last of the pieces was added; ``head`` goes before all of them."""
        self.chunks.append(self._packer.flush())
        if head:
            packer = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
            front = packer.compress(head) + packer.flush(isal_zlib.Z_SYNC_FLUSH)
            self.crc = crc32_combine(isal_zlib.crc32(head), self.crc, self.size)
            self.size += len(head)
            self.chunks.insert(0, front)

    @property
    def compress_size(self) -> int:
        return sum(len(c) for c in self.chunks)

    def unpacked(self) -> bytes:
        return isal_zlib.decompress(b"".join(self.chunks), -15, max(self.size, 1))


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from the CRC-32 of A, that of B and B's length (zlib's
    ``crc32_combine``, which Python's zlib does not offer): A's CRC is carried over
    ``len2`` zero bytes by repeated squaring of the one-zero-bit operator."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # the first square puts one zero byte
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


class Package:
    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self.infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            raise Unreadable("it is damaged (its zip container is broken)") from None
        self.names = {i.filename for i in self.infos}
        self._lower = {n.lower(): n for n in self.names}
        self.changed: dict[str, bytes] = {}
        #: Changed parts kept packed as they were made (large worksheets).
        self.packed: dict[str, Packed] = {}
        #: Parts already unpacked, by zip name.
        self.cache: dict[str, bytes] = {}
        self.added: list[str] = []
        self.removed: set[str] = set()
        self._trees: dict[str, etree._Element] = {}
        self.workbook_part = self._main_part()
        if self.find(self.workbook_part) is None:
            raise Unreadable("it has no workbook part (is it really an xlsx file?)")

    # --- parts ------------------------------------------------------------

    def find(self, name: str) -> str | None:
        """The zip name of a part, matched case-insensitively as Excel does."""
        name = name.lstrip("/")
        if name in self.changed or name in self.names:
            return name
        return self._lower.get(name.lower())

    def read(self, name: str) -> bytes:
        found = self.find(name)
        if found is None:
            raise Unreadable(f"its part {name} is missing")
        if found in self.packed:
            self.changed[found] = self.packed.pop(found).unpacked()
        if found in self.changed:
            return self.changed[found]
        if found in self.cache:
            return self.cache[found]
        damaged = Unreadable(f"it is damaged (its part {found} cannot be unpacked)")
        info = self.zip.getinfo(found)
        raw = self._stored(info) if info.compress_type == zipfile.ZIP_DEFLATED else None
        if raw is None:
            try:
                return self.zip.read(found)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
                raise damaged from None
        try:
            data = isal_zlib.decompress(raw, -15, max(info.file_size, 1))
        except _BROKEN_DEFLATE:
            raise damaged from None
        if len(data) != info.file_size or isal_zlib.crc32(data) != info.CRC:
            raise damaged
        return data

    def tree(self, name: str) -> etree._Element:
        """A small XML part as a tree, kept so edits accumulate; :meth:`touch` saves it."""
        found = self.find(name) or name
        if found not in self._trees:
            self._trees[found] = parse_xml(self.read(found), found)
        return self._trees[found]

    def touch(self, name: str) -> None:
        found = self.find(name) or name
        self.changed[found] = to_bytes(self._trees[found])

    def set(self, name: str, data: bytes) -> None:
        found = self.find(name)
        if found is None:
            found = name
            self.added.append(name)
            self._lower[name.lower()] = name
        self.changed[found] = data
        self._trees.pop(found, None)

    def set_packed(self, name: str, packed: Packed) -> None:
        """A changed part already packed (see :class:`Packed`)."""
        found = self.find(name) or name
        self.changed.pop(found, None)
        self.packed[found] = packed

    def remove(self, name: str) -> None:
        found = self.find(name)
        if found is not None:
            self.removed.add(found)
            self.changed.pop(found, None)

    def save(self, handle: IO[bytes]) -> None:
        """Every part in its order (untouched ones as they were), then the new ones."""
        with zipfile.ZipFile(handle, "w", allowZip64=True) as out:
            for info in self.infos:
                if info.filename in self.removed:
                    continue
                if info.filename in self.packed:
                    self._write_packed(out, info, self.packed[info.filename])
                    continue
                data = self.changed.get(info.filename)
                if data is None and self._copy_raw(out, info):
                    continue
                if data is None:
                    data = self.read(info.filename)
                kept = _entry_like(info)
                if kept.compress_type == zipfile.ZIP_DEFLATED and len(data) > _LARGE:
                    _pack(out, kept, [data])
                else:
                    out.writestr(kept, data, compresslevel=_level(data))
            for name in self.added:
                if name in self.removed:
                    continue
                new = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                new.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(new, self.changed[name], compresslevel=_level(self.changed[name]))

    def _write_packed(self, out: zipfile.ZipFile, info: zipfile.ZipInfo, packed: Packed) -> None:
        _write_entry(out, _entry_like(info), packed)

    def _stored(self, info: zipfile.ZipInfo) -> bytes | None:
        """An entry's bytes as stored in the zip (packed, as they are); None for an
        entry this reading does not handle (encrypted, or its header not where the
        directory says)."""
        at = info.header_offset
        header = self.data[at : at + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04" or info.flag_bits & 0x01:
            return None
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = at + 30 + name_len + extra_len
        raw = self.data[start : start + info.compress_size]
        return raw if len(raw) == info.compress_size else None

    def _copy_raw(self, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
        """Copy an untouched part's compressed bytes as they are (no unpacking and
        packing again); False when its entry is one this copy does not handle."""
        raw = self._stored(info)
        if raw is None:
            return False
        entry = _entry_like(info)
        entry.flag_bits = info.flag_bits & ~0x08 & 0x0800  # sizes in the header; UTF-8 names
        entry.CRC = info.CRC
        entry.compress_size = info.compress_size
        entry.file_size = info.file_size
        _append_entry(out, entry, [raw])
        return True

    # --- relationships ----------------------------------------------------

    def _main_part(self) -> str:
        if self.find("_rels/.rels") is None:
            return "xl/workbook.xml"
        for rel in self.tree("_rels/.rels"):
            if str(rel.get("Type", "")).endswith("/officeDocument"):
                return resolve("", str(rel.get("Target", "")))
        return "xl/workbook.xml"

    def rels_name(self, part: str) -> str:
        folder, base = posixpath.split(part)
        return posixpath.join(folder, "_rels", base + ".rels")

    def rels(self, part: str) -> list[tuple[str, str, str]]:
        """A part's relationships: (id, type, resolved target) for internal targets."""
        name = self.rels_name(part)
        if self.find(name) is None:
            return []
        out = []
        for rel in self.tree(name):
            if rel.get("TargetMode") == "External":
                continue
            target = resolve(posixpath.dirname(part), str(rel.get("Target", "")))
            out.append((str(rel.get("Id", "")), str(rel.get("Type", "")), target))
        return out

    def related(self, part: str, kind: str) -> list[str]:
        """The targets of a part's relationships whose type ends with ``/kind``."""
        return [t for _, typ, t in self.rels(part) if typ.endswith("/" + kind)]

    def add_rel(self, part: str, kind: str, target: str) -> str:
        """Add a relationship from ``part`` to ``target``; its new id."""
        name = self.rels_name(part)
        if self.find(name) is None:
            self.set(name, f'<Relationships xmlns="{REL_NS}"/>'.encode())
            self.content_default("rels", "application/vnd.openxmlformats-package.relationships+xml")
        root = self.tree(name)
        taken = {str(r.get("Id")) for r in root}
        n = len(taken) + 1
        while f"rId{n}" in taken:
            n += 1
        rel = etree.SubElement(root, f"{{{REL_NS}}}Relationship")
        rel.set("Id", f"rId{n}")
        rel.set("Type", f"{self.rel_ns}/{kind}")
        rel.set("Target", relative(posixpath.dirname(part), target))
        self.touch(name)
        return f"rId{n}"

    def remove_rel(self, part: str, target: str) -> None:
        name = self.rels_name(part)
        if self.find(name) is None:
            return
        root = self.tree(name)
        for rel in list(root):
            if resolve(posixpath.dirname(part), str(rel.get("Target", ""))) == target:
                root.remove(rel)
        self.touch(name)

    # --- content types ----------------------------------------------------

    def content_override(self, part: str, content_type: str | None) -> None:
        """Give ``part`` its content type (None: forget it)."""
        root = self.tree("[Content_Types].xml")
        for item in children(root, "Override"):
            if str(item.get("PartName", "")).lstrip("/").lower() == part.lower():
                root.remove(item)
        if content_type is not None:
            item = etree.SubElement(root, f"{{{CT_NS}}}Override")
            item.set("PartName", "/" + part)
            item.set("ContentType", content_type)
        self.touch("[Content_Types].xml")

    def content_default(self, extension: str, content_type: str) -> None:
        root = self.tree("[Content_Types].xml")
        if any(str(d.get("Extension", "")).lower() == extension for d in children(root, "Default")):
            return
        item = etree.Element(f"{{{CT_NS}}}Default")
        item.set("Extension", extension)
        item.set("ContentType", content_type)
        root.insert(0, item)
        self.touch("[Content_Types].xml")

    # --- the workbook -----------------------------------------------------

    @property
    def workbook(self) -> etree._Element:
        return self.tree(self.workbook_part)

    @property
    def main_ns(self) -> str:
        ns = etree.QName(self.workbook).namespace or MAIN_NS
        return ns

    @property
    def strict(self) -> bool:
        return self.main_ns == STRICT_NS

    @property
    def rel_ns(self) -> str:
        return STRICT_REL if self.strict else OFFICE_REL

    def sheets(self) -> list[SheetEntry]:
        """The tabs in order, with the worksheet part of each (chart sheets have "")."""
        targets = {rid: (typ, t) for rid, typ, t in self.rels(self.workbook_part)}
        sheets = child(self.workbook, "sheets")
        out = []
        for at, sheet in enumerate(children(sheets, "sheet") if sheets is not None else []):
            rid = next((v for k, v in sheet.attrib.items() if local(k) == "id"), "")
            typ, target = targets.get(str(rid), ("", ""))
            part = self.find(target) if typ.endswith("/worksheet") else None
            out.append(
                SheetEntry(str(sheet.get("name", "")), int(sheet.get("sheetId", 0)), part or "", at)
            )
        return out

    def with_dtd(self) -> str | None:
        """The first XML part that declares a document type (DTD), which Open XML
        forbids and Excel refuses: it is how an "XML bomb" swells when read."""
        for info in self.infos:
            if info.filename.lower().endswith((".xml", ".rels")) and not info.is_dir():
                with self.zip.open(info) as part:
                    if b"<!DOCTYPE" in part.read(4096):
                        return info.filename
        return None

    def misplaced(self) -> dict[str, str]:
        """The styles and shared strings parts a plain reader would not find, by the
        name it looks for: it takes them at fixed names beside the workbook part
        (``xl/styles.xml``), where the relationships may point elsewhere (a workbook
        at the package root with its styles in ``stylesheet.xml``)."""
        folder = posixpath.dirname(self.workbook_part)
        out = {}
        for kind, name in (("styles", "styles.xml"), ("sharedStrings", "sharedStrings.xml")):
            found = self.related(self.workbook_part, kind)
            part = self.find(found[0]) if found else None
            fixed = posixpath.join(folder, name)
            if part is not None and part != fixed:
                out[fixed] = part
        return out

    def plain_copy(self) -> bytes:
        """The package as a reader that knows only the usual layout can read it: its
        workbook part lists only the worksheets, each tab's state in the standard words
        (some programs write ``state="show"``), its styles and shared strings also at
        the names such a reader looks for (see :meth:`misplaced`), every other part as
        it is. Only for reading: nothing of it is ever written back."""
        workbook = parse_xml(self.read(self.workbook_part), self.workbook_part)
        worksheets = {
            rid for rid, typ, _ in self.rels(self.workbook_part) if typ.endswith("/worksheet")
        }
        sheets = child(workbook, "sheets")
        if sheets is not None:
            for sheet in children(sheets, "sheet"):
                rid = next((v for k, v in sheet.attrib.items() if local(k) == "id"), "")
                if rid not in worksheets:
                    sheets.remove(sheet)
                elif sheet.get("state") not in (None, "visible", "hidden", "veryHidden"):
                    sheet.set("state", "visible")
        aliases = self.misplaced()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
            for info in self.infos:
                if info.filename == self.workbook_part:
                    out.writestr(info.filename, to_bytes(workbook))
                elif not info.is_dir() and info.filename not in aliases:
                    out.writestr(info.filename, self.read(info.filename))
            for fixed, part in aliases.items():
                out.writestr(fixed, self.read(part))
        return buffer.getvalue()

    def date1904(self) -> bool:
        pr = child(self.workbook, "workbookPr")
        return pr is not None and str(pr.get("date1904", "")).lower() in ("1", "true")

    def styles_part(self) -> str | None:
        found = self.related(self.workbook_part, "styles")
        return self.find(found[0]) if found else None

    def new_part_name(self, pattern: str) -> str:
        """The first free name of the pattern (``xl/worksheets/sheet{}.xml``)."""
        n = 1
        while self.find(pattern.format(n)) is not None:
            n += 1
        return pattern.format(n)


#: A part this large (a big worksheet) is packed fast, a few per cent bigger.
_LARGE = 4 << 20


def _level(data: bytes) -> int:
    """How hard to pack a part: a large worksheet fast, the rest as usual."""
    return 1 if len(data) > _LARGE else 6


def _pack(out: zipfile.ZipFile, entry: zipfile.ZipInfo, pieces: list[bytes | memoryview]) -> None:
    """Write a deflated entry from its pieces, packed with ISA-L (see :class:`Packed`).

    ISA-L's level 1 packs a large worksheet about three times faster than zlib's
    fastest level, and a little smaller; its output is plain deflate, as every zip
    reader expects.
    """
    packed = Packed()
    for piece in pieces:
        packed.add(piece)
    packed.finish()
    _write_entry(out, entry, packed)


def _entry_like(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new entry for a part, with the name, time, attributes and method it had."""
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    entry.compress_type = info.compress_type
    entry.external_attr = info.external_attr
    entry.create_system = info.create_system
    entry.comment = info.comment
    entry.extra = _without_zip64(info.extra)
    return entry


def _without_zip64(extra: bytes) -> bytes:
    """An entry's extra fields (timestamps, Unix owner, Unicode name, ...) less its
    Zip64 sizes, which the writer puts back itself when the new sizes need them."""
    kept, at = [], 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack("<HH", extra[at : at + 4])
        if kind != 0x0001:
            kept.append(extra[at : at + 4 + size])
        at += 4 + size
    return b"".join(kept)


def _write_entry(out: zipfile.ZipFile, entry: zipfile.ZipInfo, packed: Packed) -> None:
    """Write a packed entry with its sizes and CRC in its header."""
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.flag_bits = entry.flag_bits & 0x0800  # sizes in the header; UTF-8 names
    entry.CRC = packed.crc
    entry.file_size = packed.size
    entry.compress_size = packed.compress_size
    _append_entry(out, entry, packed.chunks)


def _append_entry(out: zipfile.ZipFile, entry: zipfile.ZipInfo, chunks: list[bytes]) -> None:
    """Write an entry whose packed bytes, CRC and sizes are known: its header, then its
    bytes, recorded for the zip's central directory."""
    fp = out.fp
    assert fp is not None
    entry.header_offset = fp.tell()
    fp.write(entry.FileHeader(max(entry.file_size, entry.compress_size) > zipfile.ZIP64_LIMIT))
    for chunk in chunks:
        fp.write(chunk)
    out.filelist.append(entry)
    out.NameToInfo[entry.filename] = entry
    out.start_dir = fp.tell()


def resolve(folder: str, target: str) -> str:
    """A relationship target as a part name (no leading slash)."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(folder, target)).lstrip("/")


def relative(folder: str, target: str) -> str:
    return posixpath.relpath(target, folder or ".")


_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")


def root_prefix(data: bytes) -> bytes:
    """The namespace prefix of a part's root element (``b"x:"`` or ``b""``)."""
    # Some programs (ClosedXML) write a byte-order mark before the declaration.
    body = _XML_DECL.sub(b"", data[:4096].removeprefix(b"\xef\xbb\xbf"), count=1)
    found = re.match(rb"\s*(?:<!--.*?-->\s*)*<([A-Za-z_][\w.-]*:)?[A-Za-z_]", body, re.S)
    return found.group(1) or b"" if found else b""
