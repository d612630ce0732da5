#!/usr/bin/env python3
"""Opens a report in headless Chromium (Debian's `chromium`), takes a screenshot, and
checks that the charts rendered: each series colour (by default the women's and the
men's) covers a fair number of pixels, and the page is not blank.

    screenshot.py REPORT.html OUT.png [#RRGGBB ...]
"""

import os
import subprocess
import sys
import tempfile

from PIL import Image

html, png = sys.argv[1], sys.argv[2]
colours = sys.argv[3:] or ["#D55E00", "#0072B2"]  # women, men
with tempfile.TemporaryDirectory() as profile:
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1100,6000",
         f"--screenshot={os.path.abspath(png)}", "file://" + os.path.abspath(html)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

image = Image.open(png).convert("RGB")


def near(rgb, target):
    return all(abs(a - b) <= 8 for a, b in zip(rgb, target))


histogram = image.getcolors(maxcolors=1 << 24)
found = {}
for colour in colours:
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    found[colour] = sum(n for n, rgb in histogram if near(rgb, target))
print(f"screenshot {image.size[0]}x{image.size[1]}, {len(histogram)} colours; pixels of each series: {found}")
if min(found.values()) < 100 or len(histogram) < 50:
    print("charts did not render")
    sys.exit(1)
print("screenshot ok")
