"""Does LibreOffice open these workbooks? Asked of ``soffice --headless --convert-to``.

LibreOffice starts slowly, so every file of a run goes through as few calls as
possible: one ``soffice`` converts a whole list, each file to CSV in an output
folder, and a file it could not load leaves no CSV. Some files make LibreOffice
abort (7.4 does on some sparklines); the files it had not reached yet are then
given to a new call. A private profile (``-env:UserInstallation``) keeps the
runs apart from any LibreOffice the machine's user has open.
"""

from __future__ import annotations

import shutil
import subprocess
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
    inputs = workdir / "in"
    inputs.mkdir(exist_ok=True)
    staged = []
    for index, path in enumerate(paths):
        copy = inputs / f"{index:05d}{path.suffix}"
        shutil.copyfile(path, copy)
        staged.append(copy)
    result: dict[Path, bool] = {}
    pending = list(range(len(paths)))
    call = 0
    while pending:
        call += 1
        out = workdir / f"out{call}"
        out.mkdir()
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
                *(str(staged[i]) for i in pending),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        answered = sum(
            1
            for line in run.stdout.splitlines() + run.stderr.splitlines()
            if line.startswith((_LOADED, _NOT_LOADED))
        )
        for i in pending[:answered]:
            result[paths[i]] = (out / f"{staged[i].stem}.csv").exists()
        if answered >= len(pending):
            break
        # LibreOffice stopped on the file after the last one it answered for.
        result[paths[pending[answered]]] = False
        pending = pending[answered + 1 :]
    return result
