# Draws Baton's app icon (1024x1024 RGBA PNG) from signed distances; stdlib only.
import math, struct, zlib, sys
N = 1024
def clamp(x): return 0.0 if x < 0 else 1.0 if x > 1 else x
def rounded_square(x, y, half, r):
    qx, qy = abs(x) - half + r, abs(y) - half + r
    out = math.hypot(max(qx, 0), max(qy, 0))
    return out + min(max(qx, qy), 0) - r
def capsule(px, py, ax, ay, bx, by, r):
    dx, dy = bx - ax, by - ay
    t = clamp(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy))
    return math.hypot(px - ax - t * dx, py - ay - t * dy) - r, t
rows = []
for j in range(N):
    row = bytearray([0])
    for i in range(N):
        x, y = (i + 0.5) / N - 0.5, (j + 0.5) / N - 0.5
        px = 1.0 / N
        bg = clamp(0.5 - rounded_square(x, y, 0.46, 0.1) / px)
        if bg == 0:
            row += b"\0\0\0\0"; continue
        g = clamp((x + y + 1) / 2)  # diagonal gradient, indigo to deep blue
        r_, g_, b_ = 0x4c + (0x1e - 0x4c) * g, 0x6e + (0x3a - 0x6e) * g, 0xf5 + (0x8a - 0xf5) * g
        d, t = capsule(x, y, -0.24, 0.24, 0.24, -0.24, 0.075)
        c = clamp(0.5 - d / px)
        fr, fg, fb = (0xff, 0xb3, 0x2e) if t < 0.3 else (0xff, 0xff, 0xff)  # amber grip, white shaft
        r_, g_, b_ = r_ + (fr - r_) * c, g_ + (fg - g_) * c, b_ + (fb - b_) * c
        row += bytes([int(r_), int(g_), int(b_), int(255 * bg)])
    rows.append(bytes(row))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
