"""Package statuses, their colors, the progress bar and client credit colors."""

from __future__ import annotations

from datetime import date

from rules.model import Package, PackageResult
from rules.schema import AMBER, GREEN, RED, PackageStatus

BAR_CELLS = 10
FULL, EMPTY = "▰", "▱"


def package_status(package: Package, remaining: int, today: date, low: int) -> PackageStatus:
    """Evaluated in the contract's order: Expired, Exhausted, Low, Active.

    An unlimited pass is never Exhausted nor Low.
    """
    if package.expires is not None and today >= package.expires:
        return PackageStatus.EXPIRED
    if package.unlimited:
        return PackageStatus.ACTIVE
    if remaining == 0:
        return PackageStatus.EXHAUSTED
    if remaining <= low:
        return PackageStatus.LOW
    return PackageStatus.ACTIVE


def progress(remaining: int, total: int) -> str:
    """``▰▰▰▱▱ 3/5``: one cell per credit up to ten, scaled beyond.

    A package with credits left always shows at least one full cell, and one
    that is not full at least one empty cell, so the bar never rounds a
    difference away.
    """
    if total <= 0:
        return f"{EMPTY} {remaining}/{max(total, 0)}"
    cells = min(total, BAR_CELLS)
    full = round(remaining * cells / total)
    if remaining > 0:
        full = max(full, 1)
    if remaining < total:
        full = min(full, cells - 1)
    return f"{FULL * full}{EMPTY * (cells - full)} {remaining}/{total}"


def package_progress(result: PackageResult) -> str:
    """The Progress cell: a bar of credits left, or a pass's term and credits used."""
    p = result.package
    if p.unlimited:
        until = p.expires.isoformat() if p.expires else "?"
        return f"unlimited until {until} · {result.used} used"
    return progress(result.remaining, p.total)


def credits_color(credits: int, low: int) -> str:
    if credits <= 0:
        return RED
    if credits <= low:
        return AMBER
    return GREEN
