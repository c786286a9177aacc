"""The HTML drift report in a real browser: headless Chromium (Debian's ``chromium``).

The page is written to a file, screenshotted at 1280x1600 and dumped as a DOM. The
PNG is checked by hand-parsing (``struct`` + ``zlib``, no imaging library): its size,
that it is not blank, and that the red of the drift tiles is on screen; the DOM must
hold the summary tiles with their counts. Without Chromium the test is skipped
locally and fails under CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from erpsync.render.drift_html import html_view
from tests.test_drift import CASES, report_of

WIDTH, HEIGHT = 1280, 1600
TIMEOUT_SECONDS = 120
DRIFT_RED = (0xB4, 0x23, 0x18)  # --bad in templates/drift.html.j2: the drift tiles' numbers


def chromium() -> str:
    """The browser binary; skip (locally) or fail (under CI) without one."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found:
        return found
    reason = "chromium is not installed (apt-get install chromium; .ci/run does it in CI)"
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def browse(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with no network, sync or first-run extras."""
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


def png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered pixel rows (RGB or RGBA, 8 bits) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, header, idat = 8, b"", []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    bpp = {2: 3, 6: 4}[colour]
    return width, height, _unfilter(zlib.decompress(b"".join(idat)), width * bpp, height, bpp)


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> list[bytes]:
    """Undo the PNG row filters (None, Sub, Up, Average, Paeth)."""
    rows: list[bytes] = []
    prev = bytearray(stride)
    for r in range(height):
        start = r * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif kind == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b, c = prev[x], prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return rows


def has_colour(rows: list[bytes], bpp: int, colour: tuple[int, int, int]) -> bool:
    wanted = bytes(colour)
    return any(
        row[x : x + 3] == wanted for row in rows for x in range(0, len(row), bpp) if row[x] == 180
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of a golden case with drift in several categories."""
    path = tmp_path_factory.mktemp("drift-html") / "drift.html"
    path.write_text(html_view(report_of(CASES / "changed").to_dict()), encoding="utf-8")
    return path


def test_the_report_renders_in_chromium_with_its_summary_visible(
    page: Path, tmp_path: Path
) -> None:
    binary = chromium()
    shot = tmp_path / "drift.png"
    done = browse(
        binary,
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    )
    assert shot.is_file(), f"no screenshot; chromium said:\n{done.stderr[-2000:]}"
    width, height, rows = png_rows(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    assert len({value for row in rows for value in row}) > 1, "the screenshot is blank"
    assert len(set(rows)) > 50, "the screenshot has almost no content"
    bpp = len(rows[0]) // width
    top = rows[: HEIGHT // 2]
    assert has_colour(top, bpp, DRIFT_RED), "the red drift tiles are not in the top half"


def test_the_rendered_dom_holds_the_summary_tiles(page: Path, tmp_path: Path) -> None:
    binary = chromium()
    done = browse(binary, tmp_path / "profile", "--dump-dom", page.as_uri())
    dom = done.stdout
    assert "Access drift report: golden" in dom, done.stderr[-2000:]
    tile = r'<div class="value">([^<]+)</div>\s*<div class="label">([^<]+)</div>'
    found = {label: value for value, label in re.findall(tile, dom)}
    assert found["Changed"] == "6"
    assert found["Missing"] == "0"
    assert found["Out of band"] == "4"
    assert found["Coverage"] == "100.0%"
    assert "Drift: 6 changed; 4 out of band." in dom
    assert dom.index("Out of band") < dom.index("Changed in the ERP")  # summary first
