"""Whom an assignment may name (no IO): a team the jurisdiction defined and has not retired, and a staff member of
the jurisdiction whose account is active and who works requests (an agent or a supervisor), in that team when both
are named. What the staff store knows of them is gathered by the service layer into an `Assignee`; the rule that
reads it is `work_commands`' (an assignment's)."""

from __future__ import annotations

from dataclasses import dataclass

from civicloop_staff.accounts import StaffAccount


@dataclass(frozen=True)
class Assignee:
    """What intake's staff store (folded from the log) says of the team and the staff member an assignment names."""

    team_active: bool = False  # the team is one the jurisdiction defined and has not retired
    account: StaffAccount | None = None  # the staff member's account, when it is one of the jurisdiction's
