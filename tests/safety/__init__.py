"""Helpers for the safety tests (``tests/test_safety_*.py``): fault points, workbooks, sizes.

The fast slice runs in ``make test``; ``CREDITSHEET_FULL=1`` (``make reliability``)
runs the full-size runs whose figures are in ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: Set by ``make reliability``: the full-size runs.
FULL = os.environ.get("CREDITSHEET_FULL", "") not in ("", "0")
ROOT = Path(__file__).resolve().parents[2]
#: Where each run's figures go (``test-artifacts/`` is not committed).
FIGURES = ROOT / "test-artifacts" / "reliability"


def size(fast: int, full: int) -> int:
    """How many runs or examples: ``fast`` in ``make test``, ``full`` under CREDITSHEET_FULL."""
    return full if FULL else fast


def record(name: str, figures: dict[str, object]) -> None:
    """Keep a test's figures in ``test-artifacts/reliability/NAME-fast|full.json``."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}-{'full' if FULL else 'fast'}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
