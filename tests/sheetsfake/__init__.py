"""A faithful, stateful fake of the Google Sheets API v4 for tests.

Use it in-process (``with fake.mocked():`` routes ``requests`` through ``responses``) or
over loopback HTTP (``server = fake.serve()``; ``server.url``), or run it as a process with
``python -m tests.sheetsfake --port 0 --seed FILE.json``. See ``FakeSheets`` for seeding,
inspection, human edits, faults (``fake.faults``) and hooks (``fake.between_requests``).
"""

from .clients import RebasedSession, gspread_client
from .errors import ApiError
from .fake import GOOGLE_BASE_URL, CellView, FakeSheets, Outcome, RequestRecord
from .faults import Fault, FaultPlan
from .server import FakeServer

__all__ = [
    "GOOGLE_BASE_URL",
    "ApiError",
    "CellView",
    "FakeServer",
    "FakeSheets",
    "Fault",
    "FaultPlan",
    "Outcome",
    "RebasedSession",
    "RequestRecord",
    "gspread_client",
]
