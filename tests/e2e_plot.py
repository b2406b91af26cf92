#!/usr/bin/env python3
"""Figures checked for content, not size.

Usage: e2e_plot.py KSHOT SOURCE_ROOT

Runs configs/smoke.yaml with three shot counts (five learners) and checks
the curves.svg and curves.png that `kshot run` writes, and `kshot plot`:
  - in the SVG, one stroked curve per learner, each in its own colour, with
    as many points as shot counts, and a legend line in the same colour;
  - the efficiency scatter: per learner a thin line in its colour through
    one point per shot count (its cost per adapted episode from
    cost_summary.csv);
  - the PNG is a PNG whose pixels are not all one colour;
  - `kshot plot DIR -o x.pdf` writes a PDF; an unknown extension is refused
    with exit status 2.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import e2echeck

LEARNERS = 5
SHOTS = [1, 2, 5]


def png_pixels(path):
    """The decompressed IDAT bytes of a PNG, and its width and height."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None, 0, 0
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    return zlib.decompress(idat), w, h


def main():
    kshot, root = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kshot-plot-")
    try:
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", tmp,
                            "targets.heldout.shots=[" + ",".join(map(str, SHOTS)) + "]"],
                           capture_output=True, text=True)
        if not e2echeck.check("kshot run", p.returncode == 0, p.stderr):
            return e2echeck.summary()
        e2echeck.check("the run names its figures", "curves.svg, curves.png" in p.stdout,
                       p.stdout[-300:])
        svg = open(os.path.join(tmp, "curves.svg")).read()
        paths = re.findall(r'<path style="([^"]*)" d="([^"]*)"', svg)
        by_colour = {}
        for style, d in paths:
            m = re.search(r"stroke:(rgb\([^)]*\))", style)
            if m and "stroke-width:2;" in style and "fill:none" in style:
                by_colour.setdefault(m.group(1), []).append(1 + d.count(" L "))
        curves = {c: n for c, n in by_colour.items() if len(SHOTS) in n}
        e2echeck.check("one stroked curve per learner, each in its own colour, a point per "
                       "shot count", len(curves) == LEARNERS, str(by_colour), verbose=True)
        e2echeck.check("a legend line per learner in the curve's colour",
                       all(sorted(n) == [2, len(SHOTS)] for n in curves.values()), str(curves))
        # the efficiency scatter: per learner a thin line through its points
        # (one per shot count), in the learner's colour
        thin = {}
        for style, d in paths:
            m = re.search(r"stroke:(rgb\([^)]*\))", style)
            if m and "stroke-width:1.5;" in style and "fill:none" in style:
                thin.setdefault(m.group(1), []).append(1 + d.count(" L "))
        e2echeck.check("an efficiency scatter: a line per learner through a point per shot count",
                       sorted(thin) == sorted(curves) and
                       all(n == [len(SHOTS)] for n in thin.values()), str(thin))
        pix, w, h = png_pixels(os.path.join(tmp, "curves.png"))
        e2echeck.check("curves.png is a PNG that is not blank",
                       pix is not None and w > 100 and h > 100 and len(set(pix)) > 20,
                       f"{w}x{h}, {len(set(pix or b''))} byte values")
        pdf = os.path.join(tmp, "x.pdf")
        p = subprocess.run([kshot, "plot", tmp, "-o", pdf], capture_output=True, text=True)
        e2echeck.check("kshot plot writes a PDF", p.returncode == 0 and
                       open(pdf, "rb").read(5) == b"%PDF-", p.stderr)
        p = subprocess.run([kshot, "plot", tmp, "-o", os.path.join(tmp, "x.gif")],
                           capture_output=True, text=True)
        e2echeck.check("an unknown figure format is refused (exit 2)",
                       p.returncode == 2 and ".svg, .png or .pdf" in p.stderr, p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return e2echeck.summary()


if __name__ == "__main__":
    sys.exit(main())
