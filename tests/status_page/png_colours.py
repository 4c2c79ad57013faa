#!/usr/bin/python3
"""Reads a PNG with nothing but the standard library (zlib) and prints its
width, height, number of distinct colours, and whether each colour given as
RRGGBB on the command line occurs: `png_colours.py FILE [RRGGBB...]`.

tandem's status page test uses it as an independent reader of Chromium's
screenshot: the page rendered (not a blank single colour) and its state
badges carry the colours they should."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise SystemExit(f"{path}: only 8-bit RGB/RGBA, not interlaced")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev, rows, i = bytearray(stride), [], 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    colours = set()
    for line in rows:
        for x in range(0, stride, bpp):
            colours.add(line[x:x + 3].hex())
    return width, height, colours


width, height, colours = pixels(sys.argv[1])
print(f"size {width}x{height}")
print(f"colours {len(colours)}")
for want in sys.argv[2:]:
    print(f"{want.lower()} {'present' if want.lower() in colours else 'absent'}")
