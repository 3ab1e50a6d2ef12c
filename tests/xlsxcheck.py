"""Structural checks of an xlsx package: the faults that make Excel "repair" a file.

Excel opens a file with any of these faults only after a "We found a problem
with some content" dialog, and then drops what it could not make sense of.
LibreOffice and the Python readers are more forgiving, so a writer's mistakes
here go unseen unless they are looked for::

    problems = check(Path("practice.xlsx").read_bytes())
    assert not problems, problems

Each problem is one line naming the part and what is wrong, so that the
problems of a file before and after a write can be compared as sets; no
message holds a count that a write may change (how many styles or strings
there are), so a problem that was there before is the same line after.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO

from lxml import etree

MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # Strict Open XML
)
REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
OFFICE_DOCUMENT = ("/officeDocument", "/officedocument")

#: The children of <worksheet>, in the order of CT_Worksheet (ECMA-376 Part 1, sml.xsd).
WORKSHEET_ORDER = (
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)
#: Children of <worksheet> that may appear more than once.
REPEATABLE = {"cols", "conditionalFormatting"}
#: The children of <c>, in schema order.
CELL_ORDER = ("f", "v", "is", "extLst")
#: Number formats below this id are Excel's built-in ones (ECMA-376 Part 1, 18.8.30; the
#: locale-dependent ones among them, such as 41-44, are written without a <numFmt>).
FIRST_CUSTOM_NUMFMT = 164
#: Collections in styles.xml whose `count` attribute must match their children.
STYLE_LISTS = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
)
MAX_ROW, MAX_COL = 1_048_576, 16_384
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)$")


def local(tag: object) -> str:
    """An element's name without its namespace ('' for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def column_number(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def parse_ref(ref: str) -> tuple[int, int] | None:
    """'B7' -> (7, 2); None when it is not a cell reference."""
    match = _REF.match(ref)
    if not match:
        return None
    return int(match.group(2)), column_number(match.group(1))


def parse_range(ref: str) -> tuple[int, int, int, int] | None:
    """'A1:C3' -> (first row, first col, last row, last col)."""
    first, _, last = ref.partition(":")
    start, end = parse_ref(first), parse_ref(last or first)
    if start is None or end is None:
        return None
    return start[0], start[1], end[0], end[1]


@dataclass
class Package:
    """The parts of a zip package, parsed on demand."""

    parts: dict[str, bytes]
    problems: list[str] = field(default_factory=list)
    _trees: dict[str, etree._Element | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._names = {name.lower(): name for name in self.parts}

    def actual(self, name: str) -> str:
        """The part's name as stored (part names are compared case-insensitively)."""
        return self._names.get(name.lower(), name)

    def has(self, name: str) -> bool:
        return name.lower() in self._names

    def xml(self, name: str) -> etree._Element | None:
        name = self.actual(name)
        if name not in self._trees:
            data = self.parts.get(name)
            tree = None
            if data is not None:
                try:
                    tree = etree.fromstring(data, etree.XMLParser(huge_tree=True))
                except etree.XMLSyntaxError as err:
                    self.problems.append(f"{name}: not well-formed XML ({err})")
            self._trees[name] = tree
        return self._trees[name]

    def relationships(self, source: str) -> list[tuple[str, str, str]]:
        """(id, type, resolved target) of a part's internal relationships."""
        folder, base = posixpath.split(source)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        tree = self.xml(rels_name)
        if tree is None:
            return []
        found = []
        for rel in tree:
            if local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            found.append((rel.get("Id", ""), rel.get("Type", ""), self.actual(resolved)))
        return found


def check(data: bytes) -> list[str]:
    """Every structural problem found in the xlsx package ``data``; [] when there is none."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        return ["not a zip package"]
    names = [i.filename for i in archive.infolist()]
    problems = [
        f"{name}: the zip holds this part twice" for name, n in Counter(names).items() if n > 1
    ]
    try:
        package = Package({name: archive.read(name) for name in names if not name.endswith("/")})
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return [*problems, f"a zip member cannot be read ({err})"]
    package.problems.extend(problems)
    for name in package.parts:
        if name.endswith((".xml", ".rels")):  # VML is often not well-formed, Excel's too
            package.xml(name)
    _content_types(package)
    _relationship_targets(package)
    workbook = _workbook_part(package)
    if workbook is not None:
        _workbook(package, workbook)
    return package.problems


def _content_types(package: Package) -> None:
    tree = package.xml("[Content_Types].xml")
    if tree is None:
        package.problems.append("[Content_Types].xml: missing")
        return
    defaults = {d.get("Extension", "").lower() for d in tree if local(d.tag) == "Default"}
    overrides = {
        o.get("PartName", "").lstrip("/").lower() for o in tree if local(o.tag) == "Override"
    }
    for name in package.parts:
        if name == "[Content_Types].xml":
            continue
        extension = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
        if name.lower() not in overrides and extension not in defaults:
            package.problems.append(f"{name}: no content type")
    for part in sorted(overrides - {n.lower() for n in package.parts}):
        package.problems.append(f"[Content_Types].xml: a content type for {part}, which is missing")


def _relationship_targets(package: Package) -> None:
    for name in list(package.parts):
        folder, base = posixpath.split(name)
        if posixpath.basename(folder) != "_rels" or not base.endswith(".rels"):
            continue
        source = posixpath.join(posixpath.dirname(folder), base[: -len(".rels")])
        ids = Counter(rel_id for rel_id, _, _ in package.relationships(source))
        for rel_id, n in ids.items():
            if n > 1:
                package.problems.append(f"{name}: relationship id {rel_id} used {n} times")
        for rel_id, _, target in package.relationships(source):
            if not package.has(target) and not target.endswith("/"):
                package.problems.append(f"{name}: {rel_id} points at {target}, which is missing")


def _workbook_part(package: Package) -> str | None:
    for _, rel_type, target in package.relationships(""):
        if rel_type.endswith(OFFICE_DOCUMENT):
            return target
    package.problems.append("_rels/.rels: no office document relationship")
    return None


@dataclass
class Styles:
    cell_xfs: int | None  # None: no styles part (only s="0" is in range)
    dxfs: int


def _workbook(package: Package, name: str) -> None:
    tree = package.xml(name)
    if tree is None:
        return
    rels = {rel_id: (rel_type, target) for rel_id, rel_type, target in package.relationships(name)}
    by_type = {rel_type.rsplit("/", 1)[-1].lower(): target for rel_type, target in rels.values()}
    styles = _styles(package, by_type.get("styles"))
    strings = _shared_strings(package, by_type.get("sharedstrings"))
    sheets = [e for e in tree.iter() if local(e.tag) == "sheet"]
    _sheet_entries(package, name, sheets)
    _defined_names(package, name, tree, len(sheets))
    string_refs = 0
    cells_with_formulas: dict[str, set[tuple[int, int]]] = {}
    table_ids: Counter[str] = Counter()
    table_names: Counter[str] = Counter()
    for sheet in sheets:
        rel_id = next((v for k, v in sheet.attrib.items() if local(k) == "id"), None)
        if rel_id not in rels:
            package.problems.append(f"{name}: sheet {sheet.get('name')!r} has no relationship")
            continue
        rel_type, target = rels[rel_id]
        if not rel_type.endswith("/worksheet"):
            continue
        sheet_tree = package.xml(target)
        if sheet_tree is None:
            continue
        found = _worksheet(package, target, sheet_tree, styles, strings)
        string_refs += found.string_refs
        cells_with_formulas[sheet.get("sheetId", "")] = found.formulas
        for table in _tables(package, target, found):
            table_ids[table.get("id", "")] += 1
            table_names[(table.get("name") or "").lower()] += 1
    for table_id, n in table_ids.items():
        if n > 1:
            package.problems.append(f"tables: id {table_id} used by {n} tables")
    for table_name, n in table_names.items():
        if n > 1:
            package.problems.append(f"tables: name {table_name!r} used by {n} tables")
    if strings is not None:
        _string_counts(package, by_type["sharedstrings"], string_refs)
    if "calcchain" in by_type:
        _calc_chain(package, by_type["calcchain"], cells_with_formulas)


def _sheet_entries(package: Package, name: str, sheets: list[etree._Element]) -> None:
    seen_names: Counter[str] = Counter(s.get("name", "").strip().lower() for s in sheets)
    for sheet_name, n in seen_names.items():
        if n > 1:
            package.problems.append(f"{name}: {n} sheets are named {sheet_name!r}")
    for sheet in sheets:
        sheet_name = sheet.get("name", "")
        if not sheet_name or len(sheet_name) > 31 or set(sheet_name) & set("[]:*?/\\"):
            package.problems.append(f"{name}: sheet name {sheet_name!r} is not allowed")
    ids = Counter(s.get("sheetId") for s in sheets)
    for sheet_id, n in ids.items():
        if n > 1:
            package.problems.append(f"{name}: sheetId {sheet_id} used {n} times")


def _defined_names(package: Package, name: str, tree: etree._Element, sheets: int) -> None:
    seen: Counter[tuple[str, str | None]] = Counter()
    for defined in tree.iter():
        if local(defined.tag) != "definedName":
            continue
        scope = defined.get("localSheetId")
        seen[(defined.get("name", "").lower(), scope)] += 1
        if scope is not None and not (scope.isdigit() and int(scope) < sheets):
            package.problems.append(
                f"{name}: defined name {defined.get('name')!r} is local to sheet {scope}, "
                "which does not exist"
            )
    for (defined_name, scope), n in seen.items():
        if n > 1:
            package.problems.append(f"{name}: defined name {defined_name!r} ({scope}) {n} times")


def _count_matches(package: Package, part: str, element: etree._Element, children: int) -> None:
    # The numbers stay out of the message, so that a count that was already wrong
    # before a write is the same problem after it.
    count = element.get("count")
    if count is not None and count != str(children):
        package.problems.append(f"{part}: the count of <{local(element.tag)}> is not its size")


def _styles(package: Package, name: str | None) -> Styles:
    if name is None:
        return Styles(cell_xfs=None, dxfs=0)
    tree = package.xml(name)
    if tree is None:
        return Styles(cell_xfs=None, dxfs=0)
    lists = {local(e.tag): e for e in tree if local(e.tag) in STYLE_LISTS}
    sizes = {}
    for list_name, element in lists.items():
        children = [c for c in element if local(c.tag)]
        sizes[list_name] = len(children)
        _count_matches(package, name, element, len(children))
    formats = {int(f.get("numFmtId", "-1")) for f in lists.get("numFmts", [])}
    for list_name in ("cellXfs", "cellStyleXfs"):
        for index, xf in enumerate(lists.get(list_name, [])):
            for attribute, target in (
                ("fontId", "fonts"),
                ("fillId", "fills"),
                ("borderId", "borders"),
                ("xfId", "cellStyleXfs"),
            ):
                value = xf.get(attribute)
                if value is None or (attribute == "xfId" and list_name == "cellStyleXfs"):
                    continue
                if not value.isdigit() or int(value) >= sizes.get(target, 0):
                    package.problems.append(
                        f"{name}: {list_name} entry {index} has {attribute}={value}, "
                        f"which is not one of the {target}"
                    )
            number_format = xf.get("numFmtId")
            if number_format is not None and (
                not number_format.isdigit()
                or (int(number_format) >= FIRST_CUSTOM_NUMFMT and int(number_format) not in formats)
            ):
                package.problems.append(
                    f"{name}: {list_name} entry {index} uses number format {number_format}, "
                    "which is neither built in nor defined"
                )
    return Styles(cell_xfs=sizes.get("cellXfs", 0), dxfs=sizes.get("dxfs", 0))


def _shared_strings(package: Package, name: str | None) -> int | None:
    if name is None:
        return None
    tree = package.xml(name)
    if tree is None:
        return None
    return sum(1 for si in tree if local(si.tag) == "si")


def _string_counts(package: Package, name: str, references: int) -> None:
    tree = package.xml(name)
    assert tree is not None
    unique = sum(1 for si in tree if local(si.tag) == "si")
    if tree.get("uniqueCount") is not None and tree.get("uniqueCount") != str(unique):
        package.problems.append(f"{name}: uniqueCount is not the number of strings")
    if tree.get("count") is not None and tree.get("count") != str(references):
        package.problems.append(f"{name}: count is not the number of cells that use it")


@dataclass
class SheetFacts:
    string_refs: int = 0
    formulas: set[tuple[int, int]] = field(default_factory=set)
    values: dict[tuple[int, int], etree._Element] = field(default_factory=dict)


def _main_children(tree: etree._Element) -> Iterator[etree._Element]:
    """The worksheet's children in the SpreadsheetML namespace (mc:AlternateContent and
    other markup-compatibility wrappers are left to their own readers)."""
    for child in tree:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith("{") and tag[1:].split("}")[0] in MAIN_NS:
            yield child


def _worksheet(
    package: Package, name: str, tree: etree._Element, styles: Styles, strings: int | None
) -> SheetFacts:
    facts = SheetFacts()
    _child_order(package, name, tree)
    children: dict[str, list[etree._Element]] = {}
    for child in _main_children(tree):
        children.setdefault(local(child.tag), []).append(child)
    if "sheetData" not in children:
        package.problems.append(f"{name}: no <sheetData>")
    for sheet_data in children.get("sheetData", []):
        _rows(package, name, sheet_data, styles, strings, facts)
    for cols in children.get("cols", []):
        _cols(package, name, cols, styles)
    for merges in children.get("mergeCells", []):
        _merges(package, name, merges)
    for validations in children.get("dataValidations", []):
        _count_matches(package, name, validations, sum(1 for c in validations if local(c.tag)))
    for formatting in children.get("conditionalFormatting", []):
        for rule in formatting:
            dxf = rule.get("dxfId")
            if dxf is not None and (not dxf.isdigit() or int(dxf) >= styles.dxfs):
                package.problems.append(
                    f"{name}: a conditional format uses dxfId={dxf}, which is not one of the dxfs"
                )
    sheet_rels = {rel_id for rel_id, _, _ in package.relationships(name)}
    external = _external_ids(package, name)
    for element in tree.iter():
        for attribute, value in element.attrib.items():
            namespace = attribute[1:].split("}")[0] if attribute.startswith("{") else ""
            if namespace in REL_NS and value and value not in sheet_rels | external:
                package.problems.append(
                    f"{name}: <{local(element.tag)}> refers to relationship {value}, "
                    "which the sheet does not have"
                )
    return facts


def _external_ids(package: Package, name: str) -> set[str]:
    folder, base = posixpath.split(name)
    tree = package.xml(posixpath.join(folder, "_rels", base + ".rels"))
    if tree is None:
        return set()

    return {r.get("Id", "") for r in tree if r.get("TargetMode") == "External"}


def _child_order(package: Package, name: str, tree: etree._Element) -> None:
    position = {tag: i for i, tag in enumerate(WORKSHEET_ORDER)}
    last = -1
    seen: Counter[str] = Counter()
    for child in _main_children(tree):
        tag = local(child.tag)
        if tag not in position:
            package.problems.append(f"{name}: <{tag}> is not a worksheet element")
            continue
        seen[tag] += 1
        if seen[tag] > 1 and tag not in REPEATABLE:
            package.problems.append(f"{name}: <{tag}> appears {seen[tag]} times")
        if position[tag] < last:
            package.problems.append(
                f"{name}: <{tag}> comes after <{WORKSHEET_ORDER[last]}>, out of schema order"
            )
        last = max(last, position[tag])


def _rows(
    package: Package,
    name: str,
    sheet_data: etree._Element,
    styles: Styles,
    strings: int | None,
    facts: SheetFacts,
) -> None:
    previous_row = 0
    for row in sheet_data:
        if local(row.tag) != "row":
            if local(row.tag):
                package.problems.append(f"{name}: <{local(row.tag)}> inside <sheetData>")
            continue
        given = row.get("r")
        number = int(given) if given and given.isdigit() else previous_row + 1
        if given is not None and not given.isdigit():
            package.problems.append(f"{name}: row r={given!r} is not a row number")
        if number <= previous_row:
            package.problems.append(
                f"{name}: row {number} comes after row {previous_row} (rows must ascend, once each)"
            )
        if not 1 <= number <= MAX_ROW:
            package.problems.append(f"{name}: row {number} is outside the sheet")
        _style_index(package, name, f"row {number}", row.get("s"), styles)
        previous_row = max(previous_row, number)
        previous_col = 0
        for cell in row:
            if local(cell.tag) != "c":
                if local(cell.tag) and local(cell.tag) != "extLst":
                    package.problems.append(f"{name}: <{local(cell.tag)}> inside row {number}")
                continue
            ref = cell.get("r")
            if ref is None:
                position = (number, previous_col + 1)
            else:
                parsed = parse_ref(ref)
                if parsed is None:
                    package.problems.append(f"{name}: cell r={ref!r} is not a cell reference")
                    continue
                position = parsed
                if parsed[0] != number:
                    package.problems.append(f"{name}: cell {ref} is inside row {number}")
            where = ref or f"row {number} column {position[1]}"
            if position[1] <= previous_col:
                package.problems.append(
                    f"{name}: cell {where} comes after column {previous_col} "
                    "(cells must be in column order, once each)"
                )
            if position[1] > MAX_COL:
                package.problems.append(f"{name}: cell {where} is outside the sheet")
            previous_col = max(previous_col, position[1])
            _cell(package, name, where, cell, styles, strings, facts)
            formula = next((c for c in cell if local(c.tag) == "f"), None)
            if formula is not None:
                facts.formulas.add(position)
                box = parse_range(formula.get("ref", "")) if formula.get("t") == "array" else None
                if box is not None:
                    facts.formulas.update(
                        (r, c) for r in range(box[0], box[2] + 1) for c in range(box[1], box[3] + 1)
                    )
            facts.values[position] = cell


def _style_index(
    package: Package, name: str, where: str, value: str | None, styles: Styles
) -> None:
    if value is None:
        return
    limit = styles.cell_xfs if styles.cell_xfs is not None else 1
    if not value.isdigit() or int(value) >= limit:
        package.problems.append(
            f"{name}: {where} has style s={value}, which is not one of the cellXfs"
        )


def _cell(
    package: Package,
    name: str,
    where: str,
    cell: etree._Element,
    styles: Styles,
    strings: int | None,
    facts: SheetFacts,
) -> None:
    _style_index(package, name, f"cell {where}", cell.get("s"), styles)
    order = [local(c.tag) for c in cell if local(c.tag)]
    positions = [CELL_ORDER.index(t) if t in CELL_ORDER else -1 for t in order]
    if -1 in positions or positions != sorted(set(positions)):
        package.problems.append(f"{name}: cell {where} holds {order}, not (f, v, is) in order")
    kind = cell.get("t", "n")
    value = next((c for c in cell if local(c.tag) == "v"), None)
    if kind == "s":
        facts.string_refs += 1
        text = value.text if value is not None else None
        if text is None or not text.strip().isdigit():
            package.problems.append(f"{name}: cell {where} is a shared string with no index")
        elif strings is None or int(text) >= strings:
            package.problems.append(
                f"{name}: cell {where} refers to shared string {text}, which is not in the table"
            )
    elif kind == "inlineStr" and "is" not in order and "f" not in order:
        package.problems.append(f"{name}: cell {where} is an inline string with no <is>")
    elif kind not in {"n", "b", "e", "str", "inlineStr", "d", "s"}:
        package.problems.append(f"{name}: cell {where} has type t={kind!r}")


def _cols(package: Package, name: str, cols: etree._Element, styles: Styles) -> None:
    previous = 0
    for col in cols:
        if local(col.tag) != "col":
            continue
        low, high = col.get("min", ""), col.get("max", "")
        if not (low.isdigit() and high.isdigit()) or not 1 <= int(low) <= int(high) <= MAX_COL:
            package.problems.append(f"{name}: <col min={low!r} max={high!r}> is not a range")
            continue
        if int(low) <= previous:
            package.problems.append(
                f"{name}: <col min={low} max={high}> overlaps or precedes column {previous}"
            )
        previous = max(previous, int(high))
        _style_index(package, name, f"column {low}", col.get("style"), styles)


def _merges(package: Package, name: str, merges: etree._Element) -> None:
    ranges = [m for m in merges if local(m.tag) == "mergeCell"]
    _count_matches(package, name, merges, len(ranges))
    boxes = []
    for merge in ranges:
        box = parse_range(merge.get("ref", ""))
        if box is None:
            package.problems.append(f"{name}: merge {merge.get('ref')!r} is not a range")
            continue
        for other_ref, other in boxes:
            if (
                box[0] <= other[2]
                and other[0] <= box[2]
                and box[1] <= other[3]
                and other[1] <= box[3]
            ):
                package.problems.append(
                    f"{name}: merged ranges {other_ref} and {merge.get('ref')} overlap"
                )
        boxes.append((merge.get("ref"), box))


def _tables(package: Package, sheet: str, facts: SheetFacts) -> Iterable[etree._Element]:
    strings_part = None
    found = []
    for _, rel_type, target in package.relationships(sheet):
        if not rel_type.endswith("/table"):
            continue
        table = package.xml(target)
        if table is None:
            continue
        found.append(table)
        box = parse_range(table.get("ref", ""))
        columns = next((c for c in table if local(c.tag) == "tableColumns"), None)
        if box is None or columns is None:
            package.problems.append(f"{target}: no ref or no tableColumns")
            continue
        names = [c.get("name", "") for c in columns if local(c.tag) == "tableColumn"]
        _count_matches(package, target, columns, len(names))
        width = box[3] - box[1] + 1
        if len(names) != width:
            package.problems.append(
                f"{target}: ref {table.get('ref')} is {width} columns wide "
                f"but the table has {len(names)} columns"
            )
        lowered = Counter(n.lower() for n in names)
        for column_name, n in lowered.items():
            if n > 1:
                package.problems.append(f"{target}: column {column_name!r} {n} times")
        if table.get("headerRowCount", "1") != "0":
            strings_part = strings_part or _strings_list(package)
            for offset, column_name in enumerate(names):
                cell = facts.values.get((box[0], box[1] + offset))
                shown = _cell_text(cell, strings_part)
                if shown is not None and shown != column_name:
                    package.problems.append(
                        f"{target}: column {column_name!r} has the header {shown!r} in the sheet"
                    )
    return found


def _strings_list(package: Package) -> list[str]:
    for name in package.parts:
        if name.lower().endswith("sharedstrings.xml"):
            tree = package.xml(name)
            if tree is not None:
                return [
                    "".join(
                        t.text or ""
                        for t in si.iter()
                        if local(t.tag) == "t" and local(t.getparent().tag) != "rPh"
                    )
                    for si in tree
                    if local(si.tag) == "si"
                ]
    return []


def _cell_text(cell: etree._Element | None, strings: list[str]) -> str | None:
    """The text a header cell shows, or None when it is blank or not text."""
    if cell is None:
        return None
    kind = cell.get("t", "n")
    if kind == "s":
        value = next((c.text for c in cell if local(c.tag) == "v"), None)
        if value is not None and value.strip().isdigit() and int(value) < len(strings):
            return strings[int(value)]
        return None
    if kind == "inlineStr":
        inline = next((c for c in cell if local(c.tag) == "is"), None)
        if inline is None:
            return None
        return "".join(t.text or "" for t in inline.iter() if local(t.tag) == "t")
    if kind == "str":
        return next((c.text or "" for c in cell if local(c.tag) == "v"), None)
    return None


def _calc_chain(package: Package, name: str, formulas: dict[str, set[tuple[int, int]]]) -> None:
    tree = package.xml(name)
    if tree is None:
        return
    sheet = None
    for entry in tree:
        if local(entry.tag) != "c":
            continue
        sheet = entry.get("i", sheet)
        position = parse_ref(entry.get("r", ""))
        if sheet is None or position is None:
            package.problems.append(f"{name}: entry {entry.get('r')!r} names no cell")
            continue
        if sheet in formulas and position not in formulas[sheet]:
            package.problems.append(
                f"{name}: sheet {sheet} cell {entry.get('r')} is in the calculation chain "
                "but holds no formula"
            )
