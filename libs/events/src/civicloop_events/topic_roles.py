"""The roles a topic plays, which every event type declares; `Topics` turns a role into a deployment's topic name.

Pure on purpose: payload models import it, and a domain module importing a payload must not pull in a Kafka client.
"""

from __future__ import annotations

import enum


class TopicRole(str, enum.Enum):
    """Where events of a type belong. The value is the topic's name before a deployment's prefix."""

    request_events = (
        "requests.events"  # keyed by request number (or jurisdiction, for jurisdiction-wide facts)
    )
    jurisdiction_config = "jurisdiction.config"  # keyed by jurisdiction
