"""Real faults for tests: a TCP proxy that can be cut, and a throwaway Kafka broker that can be stopped or killed.

The shared broker and database started by `make up` are never faulted: other tests run against them at the same
time. A fault test starts its own broker (the same Kafka distribution, `deploy/local/kafka.sh`, its own ports and
data directory) whose advertised address is a `TcpProxy`, so every client connection, metadata lookups included,
goes through the proxy. PostgreSQL needs no broker of its own: a proxy in front of the shared server cuts one
test's connections only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from civicloop_testing.processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[4]
KAFKA_SH = REPO_ROOT / "deploy" / "local" / "kafka.sh"


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` drops every connection and refuses new ones until `restore()`.

    `swallow_replies` forwards what clients send but drops what comes back: the server acts on a request whose
    answer the client never hears (an acknowledgement lost with the connection).
    """

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.swallow_replies = False
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def __aenter__(self) -> TcpProxy:
        await self.restore()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

    async def restore(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )

    async def cut(self) -> None:
        """Stop listening and close every open connection (both directions see the connection drop)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        links = list(self._links)
        for link in links:
            link.cancel()
        await asyncio.gather(*links, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        link = asyncio.current_task()
        assert link is not None
        self._links.add(link)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer, replies=False),
                self._pipe(upstream_reader, client_writer, replies=True),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._links.discard(link)
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool
    ) -> None:
        while data := await reader.read(65536):
            if replies and self.swallow_replies:
                continue
            writer.write(data)
            await writer.drain()
        writer.close()


class ThrowawayKafka:
    """A single-node KRaft broker of its own, reached only through `proxy` (its advertised address)."""

    def __init__(self) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="civicloop-kafka-"))
        self.listen_port = free_port()
        self.controller_port = free_port()
        self.proxy = TcpProxy("127.0.0.1", self.listen_port)

    @property
    def bootstrap(self) -> str:
        return self.proxy.address

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CIVICLOOP_RUN_DIR=str(self.run_dir),
            CIVICLOOP_KAFKA_PORT=str(self.listen_port),
            CIVICLOOP_KAFKA_CONTROLLER_PORT=str(self.controller_port),
            CIVICLOOP_KAFKA_ADVERTISED_PORT=str(self.proxy.port),
        )
        libs = _installed_kafka_libs()
        if libs is not None:
            env["CIVICLOOP_KAFKA_LIBS"] = str(libs)
        return env

    async def _script(self, command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            "bash", str(KAFKA_SH), command, env=self._env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        out, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"kafka.sh {command} failed: {out.decode(errors='replace')[-2000:]}")

    async def start(self) -> None:
        """Start (or restart) the broker; returns once its listener is open."""
        await self._script("start")

    async def stop(self) -> None:
        """SIGTERM, as an operator's restart does; waits for the process to end."""
        await self._script("stop")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no flush beyond what the broker already wrote."""
        pid_file = self.run_dir / "kafka" / "kafka.pid"
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 9)

    async def __aenter__(self) -> ThrowawayKafka:
        await self.proxy.restore()
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.stop()
        finally:
            await self.proxy.cut()
            shutil.rmtree(self.run_dir, ignore_errors=True)


def _installed_kafka_libs() -> Path | None:
    """The Kafka jars `make up` fetched (CIVICLOOP_KAFKA_LIBS, or this checkout's), so they are not fetched again."""
    if env := os.environ.get("CIVICLOOP_KAFKA_LIBS"):
        return Path(env)
    for candidate in sorted((REPO_ROOT / ".run" / "kafka").glob("libs-*")):
        if (candidate / ".complete").exists():
            return candidate
    return None
