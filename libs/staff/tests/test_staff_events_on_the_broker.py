"""Staff changes decided by the pure rules, published on the real broker's configuration topic and read back:
keyed by the jurisdiction, the admin as the actor, no clear email on the log, and the fold gives the account."""

from typing import Any
from uuid import uuid4

import pytest
from civicloop_events import Event, decode_event
from civicloop_events.payloads import DisableReason, PasswordSetVia, StaffPasswordSet, TeamDefined
from civicloop_events.personal_data import PersonalData, PersonalDataUnreadable, new_key, seal, unseal
from civicloop_events.topics import Topics
from civicloop_staff.accounts import StaffAccount, change_roles, change_teams, create_account, disable, fold
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_testing import read_all_records
from civicloop_testing.events import publish_events

pytestmark = pytest.mark.integration

EMAIL, NAME = "agent.two@demo.example", "Demo Agent Two"


def config_event(payload: Any, actor: StaffPrincipal | None) -> Event[Any]:
    return Event(
        type=payload.event_type,
        schema_version=payload.schema_version,
        jurisdiction_id="demo",
        actor=actor.actor if actor else {"kind": "system", "id": "staff-cli"},
        source="staff-api" if actor else "admin",
        payload=payload,
    )


async def test_staff_changes_on_the_log(kafka_bootstrap: str, fresh_topics: Topics):
    admin = StaffPrincipal(uuid4(), "demo", frozenset({Role.admin}), frozenset(), "session-1")
    staff_id, key = uuid4(), new_key()
    teams = {"streets", "parks"}
    created = create_account(
        staff_id=staff_id,
        contact=seal(PersonalData(email=EMAIL, name=NAME), resident_id=staff_id, key=key),
        roles=["agent"],
        teams=["streets"],
        known_teams=teams,
        by=admin,
    )
    account = fold(None, created)
    assert account is not None
    changes = [
        change_roles(account, ["agent", "supervisor"], by=admin),
        change_teams(account, ["streets", "parks"], known_teams=teams, by=admin),
        StaffPasswordSet(staff_id=staff_id, via=PasswordSetVia.enrolment),
        disable(account, DisableReason.left, by=admin),
    ]
    events = [
        config_event(TeamDefined(team_id="streets", name="Streets"), None),
        config_event(created, admin),
        *(config_event(c, admin) for c in changes),
    ]
    await publish_events(kafka_bootstrap, fresh_topics.of(created), events)

    records = await read_all_records(kafka_bootstrap, fresh_topics.jurisdiction_config, 1)
    assert [r.key for r in records] == [b"demo"] * len(events)
    raw = b"".join(r.value for r in records)
    assert EMAIL.encode() not in raw and NAME.encode() not in raw
    read = [decode_event(r.value) for r in records]
    assert [e.event_id for e in read] == [e.event_id for e in events]
    assert {e.actor.id for e in read[1:]} == {str(admin.staff_id)}

    state: StaffAccount | None = None
    for event in read:
        state = fold(state, event.payload)
    assert state == StaffAccount(
        staff_id, (Role.agent, Role.supervisor), ("parks", "streets"), DisableReason.left, True, False
    )
    # Whoever holds the staff member's key reads the email; once the key is erased, nobody does.
    assert unseal(read[1].payload.contact, key=key).email == EMAIL
    with pytest.raises(PersonalDataUnreadable):
        unseal(read[1].payload.contact, key=None)
