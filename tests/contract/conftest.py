"""The backend fixture: every contract test runs once per workbook backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.harness import Harness, XlsxHarness

BACKENDS = {"xlsx": XlsxHarness}


@pytest.fixture(params=sorted(BACKENDS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return BACKENDS[request.param](tmp_path)  # type: ignore[no-any-return]
