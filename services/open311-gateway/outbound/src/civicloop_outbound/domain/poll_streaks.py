"""A back-end's polls failing in a row, and when to say so (pure).

A round of the poller that polled a body (updates, mop-up, import, or a batch token) either failed or did not; a
round that did not poll it changes nothing. After `threshold` failures in a row the streak is announced once
(`jurisdiction.body.poll_failing`); the first success after an announced streak announces the recovery
(`jurisdiction.body.poll_recovered`), and a success before the threshold ends the streak quietly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

ERROR_MAX = 200  # what `BodyPollFailing.error` holds


@dataclass(frozen=True)
class Streak:
    failures: int = 0
    failing_since: datetime | None = None
    announced: bool = False
    last_error: str = ""


class Announcement(enum.Enum):
    failing = "failing"
    recovered = "recovered"


@dataclass(frozen=True)
class StreakStep:
    streak: Streak  # the streak after the poll
    announce: Announcement | None  # what to say, if anything
    ended: Streak | None = None  # the streak a success ended (what `recovered` reports)

    def told(self) -> Streak:
        """The streak the announcement is about: the one failing, or the one a success ended."""
        return self.ended if self.ended is not None else self.streak


def after_poll(streak: Streak, *, error: str | None, at: datetime, threshold: int) -> StreakStep:
    """The streak after one polled round: `error` is the failure's kind, None for a success."""
    if error is None:
        if streak.failures == 0:
            return StreakStep(streak, None)
        return StreakStep(Streak(), Announcement.recovered if streak.announced else None, ended=streak)
    failures = streak.failures + 1
    after = replace(
        streak,
        failures=failures,
        failing_since=streak.failing_since or at,
        last_error=error[:ERROR_MAX],
    )
    if not streak.announced and failures >= threshold:
        return StreakStep(replace(after, announced=True), Announcement.failing)
    return StreakStep(after, None)
