"""Does LibreOffice open these workbooks? Asked of ``soffice --headless --convert-to``.

LibreOffice starts slowly, so every file of a run goes through as few calls as
possible: one ``soffice`` converts a whole list, each file to CSV in an output
folder, and names each file it loaded as it converts it. Some files make LibreOffice
abort (7.4 does on some sparklines); the files it had not reached yet are then
given to a new call. A private profile (``-env:UserInstallation``) keeps the
runs apart from any LibreOffice the machine's user has open.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: What soffice prints for each file it was given, in order: loaded or not.
_LOADED = "convert "
_NOT_LOADED = "Error: source file could not be loaded"


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is not installed: `make test` installs it (libreoffice-calc-nogui)"
    return found


def opens(paths: Sequence[Path], workdir: Path, *, timeout: float = 600) -> dict[Path, bool]:
    """For each path, whether LibreOffice loads it."""
    workdir.mkdir(parents=True, exist_ok=True)
    profile = (workdir / "profile").resolve().as_uri()
    # soffice names each CSV after its input, so the inputs get names of their own.
    inputs = (workdir / "in").resolve()
    inputs.mkdir(exist_ok=True)
    staged = []
    for index, path in enumerate(paths):
        copy = inputs / f"{index:05d}{path.suffix}"
        shutil.copyfile(path, copy)
        staged.append(copy)
    result: dict[Path, bool] = {}
    pending = list(range(len(paths)))
    suspects = []
    while pending:
        loaded, refused = _convert([staged[i] for i in pending], workdir, profile, timeout)
        for i in pending:
            result[paths[i]] = staged[i] in loaded
        answered = sum(1 for i in pending if staged[i] in loaded) + refused
        if answered >= len(pending):
            break
        # LibreOffice stopped on the file after the last one it answered for. It does so
        # now and then on a file it opens on its own, so that file gets a call of its own
        # at the end; the files after it go to a new call now.
        suspects.append(pending[answered])
        pending = pending[answered + 1 :]
    for i in suspects:
        result[paths[i]] = staged[i] in _convert([staged[i]], workdir, profile, timeout)[0]
    return result


def _convert(
    files: Sequence[Path], workdir: Path, profile: str, timeout: float
) -> tuple[set[Path], int]:
    """One soffice call: the files it loaded, and how many it said it could not load."""
    out = Path(tempfile.mkdtemp(dir=workdir, prefix="out"))
    run = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "csv",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    # soffice says "convert <file> -> ..." for each file it loaded, and "Error: source
    # file could not be loaded" (naming none) for each it could not, in the given order.
    lines = run.stdout.splitlines() + run.stderr.splitlines()
    named = {line.split(" -> ")[0][len(_LOADED) :] for line in lines if line.startswith(_LOADED)}
    refused = sum(1 for line in lines if line.startswith(_NOT_LOADED))
    return {f for f in files if str(f) in named}, refused
