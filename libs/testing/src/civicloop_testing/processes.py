"""A CivicLoop service run as a real process (its console script under uvicorn), for contract tests and benches."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    """A port nothing listens on now, below Linux's ephemeral range (32768-60999).

    A server restarted on a port inside that range can find it taken: a client reconnecting to it while it is down
    may be given that very port as its source port and connect to itself ("Address already in use" on restart).
    """
    for _ in range(500):
        port = random.randint(24_000, 32_000)  # noqa: S311 - a port number, not a secret
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 24000-32000")


def script(name: str) -> str:
    """A console script of this environment (the venv's bin directory)."""
    return str(Path(sys.executable).parent / name)


class ServiceProcess:
    """`<script> serve` on a free port, with `<script> migrate` available; logs under `.run/logs/`."""

    def __init__(
        self, name: str, console_script: str, env: dict[str, str], *, log_prefix: str = "proc"
    ) -> None:
        self.name, self.script, self.env = name, script(console_script), env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = ROOT / ".run" / "logs" / f"{log_prefix}-{name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run_cli(self, *args: str) -> None:
        subprocess.run([self.script, *args], env=self.env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.script, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                if self.proc and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; see {self.log}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout} s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
