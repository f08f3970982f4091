"""An agent's command refused by a domain rule, with the rule's name (the HTTP answer's error code)."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

P = TypeVar("P", bound=enum.Enum)


class CommandRejected(Exception, Generic[P]):
    def __init__(self, problem: P, message: str) -> None:
        super().__init__(message)
        self.problem = problem
