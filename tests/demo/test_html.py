"""The HTML report opens in headless Chromium without errors and its charts render."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from dynamokit._demo.html import COLOURS, bars, ticks

from .conftest import DemoRun

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files"]


def test_page_is_self_contained(demo_run: DemoRun) -> None:
    page = demo_run.html.read_text(encoding="utf-8")
    assert page.count("<svg") >= 6 and "<rect" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page


def test_page_explains_its_numbers(demo_run: DemoRun) -> None:
    page = demo_run.html.read_text(encoding="utf-8")
    assert "Capacity units per call (mean of" in page and "Requests per call (mean of" in page
    assert "requests (mean)" in page and "Latencies are local" in page and "SQLite" in page
    background = demo_run.json["patterns"]["microservice"]["background"]
    assert "Background work" in page and f'<td class="n">{background["wcu"]:g}</td>' in page
    assert "4 microservice answers full-text search without DynamoDB requests" in page
    assert "0 (no DynamoDB)" in page
    assert page.count("<table") >= 6  # a table per pattern, not one 25-column table


def test_charts_scale_and_have_axes() -> None:
    svg = bars("t", ["a", "b"], {"x": [1.0, 37.05], "y": [(0.5, 15.36), (0.0, 0.0)]}, "USD per million calls")
    assert 'viewBox="0 0 1000 ' in svg and " width=" not in svg.split(">", 1)[0]
    assert svg.count('class="grid"') == len(ticks(37.05)) == 5 and svg.count('class="axis"') == 2
    assert ">USD per million calls</text>" in svg and 'fill-opacity="0.4"' in svg
    assert (
        ticks(37.05) == [0, 10, 20, 30, 40]
        and ticks(0.0) == [0, 0.2, 0.4, 0.6, 0.8, 1]
        and ticks(3.96)[-1] == 4
    )


def pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) pixels of an 8-bit non-interlaced PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", b""
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        body = png[at + 8 : at + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    size = 3 if colour == 2 else 4
    raw, stride, rows, prior = zlib.decompress(idat), width * size, [], bytearray(width * size)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - size] if i >= size else 0
            b, c = prior[i], prior[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if size == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3))
        prior = line
    return width, height, rows


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("width", [1024, 1600])
def test_chromium_renders_the_charts(demo_run: DemoRun, tmp_path: Path, width: int) -> None:
    assert CHROMIUM is not None
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},1600",
            f"--screenshot={shot}",
            demo_run.html.as_uri(),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not errors, errors
    png_width, height, rows = pixels(shot.read_bytes())
    assert (png_width, height) == (width, 1600)
    counts = {colour: 0 for colour in COLOURS}
    wanted = {bytes.fromhex(colour[1:]): colour for colour in COLOURS}
    for row in rows:
        for x in range(0, len(row), 3):
            hit = wanted.get(row[x : x + 3])
            if hit:
                counts[hit] += 1
    assert all(n > 500 for n in counts.values()), counts  # every pattern's bars are drawn


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install -y chromium)")
def test_chromium_parses_the_page(demo_run: DemoRun) -> None:
    assert CHROMIUM is not None
    run = subprocess.run(
        [CHROMIUM, *FLAGS, "--dump-dom", demo_run.html.as_uri()],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout.count("<svg") >= 5, run.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("width", [1024, 1600])
def test_no_horizontal_scrolling(demo_run: DemoRun, tmp_path: Path, width: int) -> None:
    """A copy of the page with a script that writes its measurements into the DOM, printed by Chromium."""
    assert CHROMIUM is not None
    measure = (
        "<script>const s=[...document.querySelectorAll('svg.chart')].map(e=>e.getBoundingClientRect().width);"
        "document.body.dataset.measure=[document.documentElement.scrollWidth,window.innerWidth,"
        "Math.min(...s),Math.max(...s),s.length,document.querySelectorAll('svg.chart line.axis').length,"
        "document.querySelectorAll('svg.chart line.grid').length].join(' ')</script></body>"
    )
    copy = tmp_path / "measure.html"
    copy.write_text(demo_run.html.read_text(encoding="utf-8").replace("</body>", measure), encoding="utf-8")
    run = subprocess.run(
        [
            CHROMIUM,
            *[f for f in FLAGS if f != "--hide-scrollbars"],
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},900",
            "--dump-dom",
            copy.as_uri(),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    found = re.search(r'data-measure="([\d. ]+)"', run.stdout)
    assert found, run.stdout[-2000:]
    scroll, inner, narrowest, widest, charts, axes, grid = (float(v) for v in found.group(1).split())
    assert scroll <= inner, (scroll, inner)
    assert charts >= 6 and axes == 2 * charts and grid >= 3 * charts, (charts, axes, grid)
    assert (
        width - 100 < inner <= width and narrowest == widest > min(width, 1200) - 120
    )  # charts fill the page
