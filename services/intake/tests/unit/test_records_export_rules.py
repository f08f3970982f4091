"""The records export's redaction: sealed contacts become "[redacted]" wherever they stand, free text loses phones and
emails, everything else (ids, times, offsets) is the replay's own; unsealed, contacts open and erased ones say so."""

from datetime import UTC, datetime

import pytest
from civicloop_intake.domain.records_export import ERASED, REDACTED, build_export, scrub_text, sealed_contacts

SEALED = {
    "resident_id": "00000000-0000-4000-8000-0000000000aa",
    "algorithm": "AES-256-GCM",
    "nonce": "bm9uY2U=",
    "ciphertext": "c2VhbGVk",
}
AT = datetime(2026, 12, 5, 10, tzinfo=UTC)


def history():
    return [
        {
            "partition": 2,
            "offset": 41,
            "event_id": "01936d2a-0000-7000-8000-000000000001",
            "occurred_at": "2026-12-05T09:00:00Z",
            "type": "request.submitted",
            "payload": {
                "description": "Hole; ring +1 (202) 555-0143 or dana@example.org",
                "service_code": "pothole",
                "contact": SEALED,
                "location": {"lat": 38.9, "long": -77.0, "address_string": "near 202.555.0143"},
            },
        },
        {
            "partition": 2,
            "offset": 57,
            "event_id": "01936d2a-0000-7000-8000-000000000002",
            "occurred_at": "2026-12-05T09:30:00Z",
            "type": "request.comment.added",
            "payload": {"text": "Called 2025550143, no answer", "visibility": "internal"},
        },
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +1 202-555-0143 now", "call [redacted] now"),
        ("mail a.b+c@city.gov.", "mail [redacted]."),
        ("+44 20 7946 0958", "[redacted]"),
        ("0044 20 7946 0958 or (202) 555 0143", "[redacted] or [redacted]"),
        ("Bin 42 on 5th street since 2026", "Bin 42 on 5th street since 2026"),
    ],
)
def test_scrub_takes_phones_and_emails_out_of_free_text(text, expected):
    assert scrub_text(text) == expected


def test_a_redacted_export_keeps_every_event_and_position_and_hides_contacts_and_typed_contact_details():
    export = build_export(history(), request_number="7K3D-Q9XA", exported_at=AT, exported_by="agent:x")

    assert export.redacted and export.through_offset == 57
    assert [(e["event_id"], e["offset"]) for e in export.events] == [
        (e["event_id"], e["offset"]) for e in history()
    ]
    submitted = export.events[0]["payload"]
    assert submitted["contact"] == REDACTED
    assert submitted["description"] == "Hole; ring [redacted] or [redacted]"
    assert submitted["location"] == {"lat": 38.9, "long": -77.0, "address_string": "near [redacted]"}
    assert export.events[1]["payload"]["text"] == "Called [redacted], no answer"
    assert export.events[0]["occurred_at"] == "2026-12-05T09:00:00Z"


def test_unsealed_opens_each_contact_and_an_erased_one_stays_gone():
    assert sealed_contacts(history()) == [SEALED]
    opened = build_export(
        history(),
        request_number="7K3D-Q9XA",
        exported_at=AT,
        exported_by="agent:x",
        unsealed={"c2VhbGVk": {"email": "dana@example.org"}},
    )
    erased = build_export(
        history(),
        request_number="7K3D-Q9XA",
        exported_at=AT,
        exported_by="agent:x",
        unsealed={"c2VhbGVk": None},
    )

    assert not opened.redacted
    assert opened.events[0]["payload"]["contact"] == {"email": "dana@example.org"}
    assert opened.events[0]["payload"]["description"] == history()[0]["payload"]["description"]
    assert erased.events[0]["payload"]["contact"] == ERASED
