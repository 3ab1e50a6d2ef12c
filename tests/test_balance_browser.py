"""A real browser on the balance page: headless Chromium at a phone and a desktop width.

The screenshots are kept in ``test-artifacts/`` at the repository root, to look at.
Chromium is Debian's ``chromium`` package (``make browser`` installs it); without
it this test fails, it is not skipped.
"""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_balance_server import Running, running

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
#: The header's background in the page's CSS: seen only if the inline style was allowed.
HEADER_RGB = (0x23, 0x40, 0x39)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run `make browser` (Debian's chromium package)")
    return found


def browse(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def screenshot(url: str, name: str, width: int, height: int) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    browse(url, f"--screenshot={path}", f"--window-size={width},{height}")
    assert path.is_file(), f"chromium wrote no screenshot to {path}"
    return path


def rendered_text(url: str) -> str:
    """The text of the DOM Chromium rendered.

    The page runs with scripts off whatever the browser's setting: its
    Content-Security-Policy allows none (``--dump-dom`` itself needs the
    browser's scripting on, so it cannot be switched off here).
    """
    dom = browse(url, "--dump-dom").stdout
    body = re.sub(r"<(style|title)>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the raw RGB(A) rows of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, chunk = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        at += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    size = 3 if color == 2 else 4
    raw, stride, rows = zlib.decompress(idat), width * size, []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, corner = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + guess) & 0xFF
        rows.append(bytes(line[i] for i in range(stride) if i % size < 3))
        previous = line
    return width, height, rows


def rgb(rows: list[bytes], x: int, y: int) -> tuple[int, int, int]:
    r, g, b = rows[y][3 * x : 3 * x + 3]
    return r, g, b


def test_without_chromium_the_test_says_to_run_make_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="run `make browser`"):
        chromium()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("browser")) as r:
        yield r


@pytest.mark.parametrize(
    ("name", "width", "height"),
    [("balance-phone.png", 390, 844), ("balance-desktop.png", 1280, 900)],
)
def test_the_page_renders_at_phone_and_desktop_widths(
    live: Running, name: str, width: int, height: int
) -> None:
    shot = screenshot(live.links["ann"], name, width, height)
    got_width, got_height, rows = png_pixels(shot)
    assert (got_width, got_height) == (width, height)
    assert rgb(rows, 2, 2) == HEADER_RGB, "the inline style did not apply (CSP hash?)"
    colors = {rgb(rows, x, y) for y in range(0, height, 4) for x in range(0, width, 4)}
    assert (0xFC, 0xE8, 0xB2) in colors  # the 5-Session Pack's bar and badge: Low, amber
    assert (0xB7, 0xE1, 0xCD) in colors  # the Family Pack's: Active, green


def test_the_browser_shows_the_balance(live: Running) -> None:
    text = rendered_text(live.links["ann"])
    assert "Hello, Ann" in text
    assert "9 sessions left across your 2 packages" in text
    assert "2 of 5 sessions left" in text
    assert "Expires Thu 31 Dec 2026 Time left 41 days" in text
    assert "Fri 16 Oct 2026 Fri 9 Oct 2026 Fri 2 Oct 2026" in text
    assert "Last updated Fri 20 Nov 2026 at 09:30." in text
    assert "Bob" not in text and "Zebra" not in text


def test_the_browser_shows_names_from_the_sheet_as_text(live: Running) -> None:
    text = rendered_text(live.links["<b>eve</b>"])
    assert "Hello, <b>Eve</b>" in text
    assert "<script>alert(1)</script> & Co" in text
