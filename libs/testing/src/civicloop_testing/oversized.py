"""A client that posts a body far larger than a server takes, over a raw socket, and notes how much of it the
server let it send: the proof that a limit is applied while reading, not after (httpx would buffer or retry)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

PIECE = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    sent: int  # body bytes the client got to send before the server answered or closed


def post_oversized(
    base_url: str,
    path: str,
    *,
    size: int,
    chunked: bool,
    content_type: str = "application/x-www-form-urlencoded",
    prefix: bytes = b"",
    timeout_s: float = 20.0,
) -> Answer:
    """POST `prefix` then `size` bytes of `a` to `path`, with a declared Content-Length or chunked; stop sending as
    soon as the server answers, closes or stops reading (a send blocked for `timeout_s`), then read its answer."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=timeout_s) as sock:
        # A small send buffer, so that `sent` counts what the server took rather than what the kernel queued here.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIECE)
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(prefix) + size}"
        head = f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\nContent-Type: {content_type}\r\n{length}\r\n\r\n"
        sock.sendall(head.encode())
        if prefix:
            sock.sendall(b"%x\r\n%s\r\n" % (len(prefix), prefix) if chunked else prefix)
        sent = _send_until_refused(sock, size=size, chunked=chunked)
        raw = _read_until_closed(sock, timeout_s)
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return Answer(int(status_line.split()[1]), headers, body, sent)


def _send_until_refused(sock: socket.socket, *, size: int, chunked: bool) -> int:
    piece = b"a" * PIECE
    framed = b"%x\r\n%s\r\n" % (PIECE, piece) if chunked else piece
    sent = 0
    try:
        while sent < size:
            sock.sendall(framed)
            sent += PIECE
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except (TimeoutError, ConnectionError):
        pass  # the server closed or stopped reading: what it answered is waiting
    return sent


def _read_until_closed(sock: socket.socket, timeout_s: float) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionError):
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)
