"""Where an event landed in its topic: what a command answers and a reader waits for (read-your-writes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogPosition:
    """A reader that has applied `offset` of `partition` has seen the event."""

    partition: int
    offset: int

    def token(self) -> str:
        return f"{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, token: str) -> LogPosition:
        partition, _, offset = token.partition(":")
        position = cls(int(partition), int(offset))
        if position.partition < 0 or position.offset < 0:
            raise ValueError("a position is two non-negative integers")
        return position
