"""Where an event landed in its topic: what a command answers and a reader waits for (read-your-writes); and
whether a command kept with its events has had them published yet."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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


class PublishState(str, enum.Enum):
    """An outbox row's state, as its `state` column holds it."""

    pending = "pending"
    published = "published"


@dataclass(frozen=True)
class PublishProgress:
    """Where a command kept with its events stands: pending until the broker acknowledged them, then published at
    `position` (of the last one). Keyword-only, so the record that inherits it keeps its own fields first."""

    state: PublishState = field(default=PublishState.pending, kw_only=True)
    position: LogPosition | None = field(default=None, kw_only=True)

    @property
    def published(self) -> bool:
        return self.state is PublishState.published
