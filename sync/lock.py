"""One daemon per workbook: an advisory lock file keyed by the workbook's identity.

The lock is an ``flock`` on a file in the system's temporary folder, so it is
released by the kernel when the holder dies, however it dies; the file holds
the holder's pid so the refusal can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from sync.errors import EXIT_CONFIG, CreditsheetError


class AlreadyRunning(CreditsheetError):
    """Another process holds the workbook's lock."""

    exit_status = EXIT_CONFIG

    def __init__(self, pid: int | None, path: Path) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"another `creditsheet run` ({who}) is already syncing this workbook "
            f"(lock file {path}); stop it first"
        )
        self.pid = pid


def lock_path(workbook_id: str, folder: Path | None = None) -> Path:
    digest = hashlib.sha256(workbook_id.encode()).hexdigest()[:16]
    return (folder or Path(tempfile.gettempdir())) / f"creditsheet-{digest}.lock"


class InstanceLock:
    """``with InstanceLock(workbook_id):`` or ``acquire()`` / ``release()``."""

    def __init__(self, workbook_id: str, folder: Path | None = None) -> None:
        self.path = lock_path(workbook_id, folder)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(holder, self.path) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def holder(self) -> int | None:
        """The pid holding the lock now, or None when nobody does."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
