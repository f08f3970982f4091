"""A run of the sweep as it is recorded: who started it, what it found and what it did (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


class Trigger(str, enum.Enum):
    schedule = "schedule"  # the service's own timer
    cron = "cron"  # a cron runner with the cron token
    admin = "admin"  # an admin's "run now" (their staff id recorded)
    command = "command"  # `civicloop-selfheal sweep`


class Outcome(str, enum.Enum):
    done = "done"  # every action published
    partial = "partial"  # some actions or steps failed: left pending for the next run
    failed = "failed"  # the run stopped
    busy = "busy"  # another run held the lock: nothing ran (counted, not recorded)


@dataclass
class RunReport:
    run_id: UUID
    trigger: Trigger
    started_at: datetime
    staff_id: str | None = None
    finished_at: datetime | None = None
    outcome: Outcome | None = None
    found: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def did(self, what: str, n: int = 1) -> None:
        if n:
            self.done[what] = self.done.get(what, 0) + n

    def as_json(self) -> dict[str, object]:
        return {
            "run_id": str(self.run_id),
            "trigger": self.trigger.value,
            "staff_id": self.staff_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome.value if self.outcome else None,
            "found": self.found,
            "done": self.done,
            "errors": self.errors,
        }
