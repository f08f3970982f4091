"""The development sink for access codes, until the notifier delivers them: one JSON line per code in a file only
its owner may read (0600). Nothing of it goes to a log. Allowed only where `CIVICLOOP_ENV` is dev or test
(`IntakeSettings`)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from civicloop_intake.service_layer.resident_ports import AccessCodeMessage, AccessCodeSender


class FileAccessCodeSink(AccessCodeSender):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def send(self, message: AccessCodeMessage) -> None:
        line = json.dumps(
            {
                "to": message.to.value,
                "kind": message.to.kind.value,
                "code": message.code,
                "expires_at": message.expires_at.isoformat(),
            }
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def read_sink(path: Path) -> list[dict[str, str]]:
    """The codes sent so far, oldest first (for a developer, or a test, reading the sink)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
