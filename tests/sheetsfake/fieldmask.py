"""Field masks, e.g. ``sheets(properties(title,sheetId))`` or ``userEnteredFormat.backgroundColor``.

A mask parses to a tree: ``{name: subtree}`` where a subtree of ``None`` selects the whole field.
The same trees filter responses (the ``fields`` query parameter) and drive partial updates
(the ``fields`` member of ``updateCells``, ``repeatCell``, ``updateSheetProperties``, ...).
"""

from __future__ import annotations

import copy
from typing import Any

Mask = dict[str, "Mask | None"]


class FieldMaskError(ValueError):
    """The mask text is malformed."""


def parse(text: str) -> Mask:
    """Parse mask text; ``*`` selects everything (``{"*": None}``)."""
    tree: Mask = {}
    end = _parse_list(text, 0, tree)
    if end != len(text):
        raise FieldMaskError(text)
    return tree


def _parse_list(text: str, i: int, tree: Mask) -> int:
    while True:
        i = _parse_path(text, i, tree)
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        return i


def _parse_path(text: str, i: int, tree: Mask) -> int:
    j = i
    while j < len(text) and text[j] not in ",()./":
        j += 1
    name = text[i:j].strip()
    if not name:
        raise FieldMaskError(text)
    if j < len(text) and text[j] in "./(":
        existing = tree.get(name, {})
        child: Mask = existing if existing is not None else {}
        if j < len(text) and text[j] == "(":
            k = _parse_list(text, j + 1, child)
            if k >= len(text) or text[k] != ")":
                raise FieldMaskError(text)
            end = k + 1
        else:
            end = _parse_path(text, j + 1, child)
        if existing is not None:
            tree[name] = child
        return end
    tree[name] = None
    return j


def paths(tree: Mask | None, prefix: str = "") -> list[str]:
    """Flatten a tree back to dotted paths (for messages and validation)."""
    if tree is None:
        return [prefix] if prefix else []
    out: list[str] = []
    for name, sub in tree.items():
        out.extend(paths(sub, f"{prefix}.{name}" if prefix else name))
    return out


def select(value: Any, tree: Mask | None) -> Any:
    """Keep only the selected members of a response object (lists are filtered item-wise)."""
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in tree:
            out[key] = select(item, tree[key])
    return out


def apply_update(target: dict, source: dict | None, tree: Mask | None) -> dict:
    """Copy the masked members of ``source`` onto ``target`` (absent in source -> cleared)."""
    source = source or {}
    if tree is None or "*" in tree:
        return copy.deepcopy(source)
    result = dict(target)
    for key, sub in tree.items():
        if sub is None:
            if source.get(key) is not None:
                result[key] = copy.deepcopy(source[key])
            else:
                result.pop(key, None)
            continue
        inner = apply_update(result.get(key) or {}, source.get(key), sub)
        if inner:
            result[key] = inner
        else:
            result.pop(key, None)
    return result
