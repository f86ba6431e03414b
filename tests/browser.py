"""Headless Chromium for the report tests: no network, a recording proxy, PNG pixels by stdlib."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import zlib
from collections import Counter
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Chromium's own services. Debian's chromium 156 still calls some of them at start-up
#: (the optimization-guide model manifest from update.googleapis.com, accounts.google.com)
#: despite --disable-background-networking/--disable-component-update/--disable-sync; those
#: requests come from the browser, not the page, so they are reported but allowed.
BROWSER_HOSTS = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")


class RecordingProxy:
    """A TCP server on loopback that records every connection (and its first bytes), then closes it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(4000)
                except OSError:
                    first = b""
                self.connections.append(first)

    def targets(self) -> list[str]:
        """The host each connection asked for (CONNECT host:port, or the absolute URL's host)."""
        out = []
        for first in self.connections:
            parts = first.split(b"\r\n", 1)[0].split(b" ")
            target = parts[1].decode("latin-1") if len(parts) > 1 else "?"
            host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
            out.append(host or "?")
        return out

    def page_requests(self) -> list[str]:
        """Connections that are not the browser's own service traffic (see BROWSER_HOSTS)."""
        return [
            host
            for host in self.targets()
            if not any(host == h or host.endswith("." + h) for h in BROWSER_HOSTS)
        ]

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def chromium(
    url: str, profile: Path, proxy_port: int, *extra: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Chromium headless with no way out: every host unresolvable, every request via the proxy."""
    assert CHROMIUM is not None
    args = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--metrics-recording-only",
        "--no-pings",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
        "--hide-scrollbars",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",  # not even loopback bypasses the proxy
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        *extra,
        url,
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its helpers share the group: one kill ends them all
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"chromium did not finish in {timeout} s: {err[-2000:]}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # stray helpers, if any
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def png_pixels(path: Path) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, pixels) of an 8-bit RGB/RGBA PNG, decoded with zlib (no imaging library)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = depth = ctype = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    channels = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        ftype = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        rows.append(line)
        prev = line
    pixels = [tuple(row[x : x + 3]) for row in rows for x in range(0, stride, channels)]
    return width, height, pixels


def pixel_summary(path: Path) -> tuple[tuple[int, ...], float, int]:
    """(the most common colour, the share of pixels that differ from it, distinct colours)."""
    _, _, pixels = png_pixels(path)
    counts = Counter(pixels)
    background, n = counts.most_common(1)[0]
    return background, 1 - n / len(pixels), len(counts)
