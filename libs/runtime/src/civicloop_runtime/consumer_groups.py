"""The settings that name a service's consumer groups.

Groups are versioned, `<service>.<purpose>.v<N>`: a change to what a fold writes ships with a new version, whose
group has no stored positions and so replays the log from offset 0 into the migrated tables. A deployment may
still name a group of its own through the setting.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

VERSIONED_GROUP = re.compile(r"[a-z0-9-]+\.[a-z0-9-]+\.v[0-9]+")


def consumer_group(default: str, *, description: str) -> Any:
    """A setting (a pydantic `Field`) holding a consumer group's name, `default` unless the environment says."""
    if not VERSIONED_GROUP.fullmatch(default):
        raise ValueError(f"consumer group {default!r} is not named <service>.<purpose>.v<N>")
    return Field(default=default, description=description)
