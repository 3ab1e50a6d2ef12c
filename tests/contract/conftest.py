"""The backend fixture: every contract test runs once per workbook backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.harness import GoogleHarness, Harness, XlsxHarness

BACKENDS: dict[str, type] = {"xlsx": XlsxHarness, "google": GoogleHarness}


@pytest.fixture(params=sorted(BACKENDS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    made: Harness = BACKENDS[request.param](tmp_path)
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()
