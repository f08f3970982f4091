"""The body limit under a real uvicorn process: a 20 MB body, declared or chunked, is refused 413 after the server
has read no more than the limit (plus one socket read), counted by the process's own read bytes (/proc/<pid>/io).
Kept alive, uvicorn would read and discard the whole body to reach the next request: the 413 closes instead."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from body_limit_app import LIMIT
from civicloop_testing.oversized import post_oversized
from civicloop_testing.processes import free_port

BODY = 20 * 1024 * 1024
# asyncio reads a socket up to 256 KiB at a time, and uvicorn pauses reading only between two such reads.
ONE_READ = 512 * 1024


def read_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/<pid>/io")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "body_limit_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_20_mb_body_is_refused_having_read_no_more_than_the_limit(server, chunked):
    url, pid = server
    before = read_bytes(pid)
    answer = post_oversized(url, "/echo", size=BODY, chunked=chunked)
    read = read_bytes(pid) - before
    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    assert read <= LIMIT + ONE_READ, f"the server read {read} bytes of a {BODY}-byte body"
    assert answer.sent < BODY


def test_an_answer_before_a_huge_body_was_read_closes_the_connection(server):
    url, pid = server
    before = read_bytes(pid)
    answer = post_oversized(url, "/refuse", size=BODY, chunked=True)
    read = read_bytes(pid) - before
    assert answer.status == 403 and answer.headers["connection"] == "close"
    assert read <= LIMIT + ONE_READ, f"the server read {read} bytes of a {BODY}-byte body"


def test_an_answer_before_a_small_body_was_read_reads_it_and_keeps_the_connection(server):
    """The client, still sending, gets the answer (not a reset), and the connection serves the next request."""
    url, _ = server
    with httpx.Client(base_url=url) as client:
        r = client.post("/refuse", content=b"a" * (LIMIT // 2))
        assert r.status_code == 403 and "connection" not in r.headers
        assert client.post("/echo", content=b"abc").json() == {"bytes": 3}


def test_a_body_within_the_limit_is_read_whole(server):
    url, _ = server
    r = httpx.post(f"{url}/echo", content=b"a" * (LIMIT - 1))
    assert r.status_code == 200 and r.json() == {"bytes": LIMIT - 1}
