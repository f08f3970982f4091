"""Back-off, secret refs, the email message and the webhook document (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from civicloop_events import Location, PersonalData
from civicloop_events.payloads import BodyDefined, Priority, SendMethod, WebhookConnection
from civicloop_outbound.adapters.email_sender import build_message, recipients
from civicloop_outbound.adapters.webhook_sender import document, external_id_of, sign
from civicloop_outbound.domain.backoff import next_attempt_at, retry_delay_s
from civicloop_outbound.domain.ports import BodyRecord, DispatchPayload, OutboundItem, PermanentFailure
from civicloop_runtime.secrets import SecretNotFound, resolve_secret, secret_env_name

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_backoff_doubles_is_capped_and_jittered_within_half_to_full_step() -> None:
    assert retry_delay_s(1, initial_s=10, max_s=100, rand=lambda: 0.0) == 5
    assert retry_delay_s(1, initial_s=10, max_s=100, rand=lambda: 0.999999) == pytest.approx(10, rel=1e-5)
    assert retry_delay_s(3, initial_s=10, max_s=100, rand=lambda: 0.0) == 20
    assert retry_delay_s(9, initial_s=10, max_s=100, rand=lambda: 0.0) == 50


def test_after_the_last_attempt_there_is_no_retry() -> None:
    at = next_attempt_at(2, now=NOW, max_attempts=3, initial_s=10, max_s=100, rand=lambda: 0.0)
    assert at == NOW + timedelta(seconds=10)
    assert next_attempt_at(3, now=NOW, max_attempts=3, initial_s=10, max_s=100) is None


def test_secret_refs_resolve_from_the_environment() -> None:
    assert secret_env_name("springfield.roads-webhook") == "CIVICLOOP_SECRET_SPRINGFIELD_ROADS_WEBHOOK"
    assert resolve_secret("a.b", {"CIVICLOOP_SECRET_A_B": "s3"}) == "s3"
    with pytest.raises(SecretNotFound, match="CIVICLOOP_SECRET_A_B"):
        resolve_secret("a.b", {})


def payload(**overrides: object) -> DispatchPayload:
    values: dict[str, object] = {
        "request_id": "ABCD-1234",
        "jurisdiction_id": "springfield.example.gov",
        "service_code": "STREETLIGHT",
        "service_name": "Streetlight out",
        "description": "Lamp <b>out</b> at the corner",
        "location": Location(lat=39.78, long=-89.65, address_string="1 Main St"),
        "attributes": {"POLE_ID": ["SL-1"], "HAZARDS": ["wires", "glass"]},
        "media_urls": ["https://img.example/1.jpg"],
        "submitted_at": NOW,
        "source": "web",
        "priority": Priority.normal,
        "team": "crew-a",
        "analysis_codes": ["RD"],
    }
    values.update(overrides)
    return DispatchPayload.model_validate(values)


def item(p: DispatchPayload, purpose: str = "deliver", contact: PersonalData | None = None) -> OutboundItem:
    return OutboundItem(
        seq=7,
        delivery_id="d-7",
        method=SendMethod.email,
        purpose=purpose,
        attempt=1,
        payload=p,
        request_url="https://gw.example/open311/v2/requests/ABCD-1234.json",
        contact=contact,
    )


LIGHTS = BodyRecord(
    "springfield.example.gov",
    BodyDefined(
        body_id="lights", name="Lights", email="lights@city.example", priority_email="urgent@city.example"
    ),
)


def test_the_email_carries_every_detail_in_text_and_html() -> None:
    msg = build_message(LIGHTS, item(payload()), mail_from="CivicLoop <no-reply@civicloop.example>")
    assert msg["Subject"] == "Request ABCD-1234: Streetlight out"
    assert msg["To"] == "lights@city.example" and msg["Cc"] is None
    assert msg["Message-ID"] == "<d-7.deliver@civicloop.example>"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for needle in (
        "ABCD-1234",
        "Streetlight out",
        "STREETLIGHT",
        "1 Main St",
        "POLE_ID: SL-1",
        "HAZARDS: wires, glass",
        "crew-a",
        "https://img.example/1.jpg",
        "https://www.openstreetmap.org/?mlat=39.78&mlon=-89.65",
        "https://gw.example/open311/v2/requests/ABCD-1234.json",
    ):
        assert needle in text, needle
    assert "Lamp &lt;b&gt;out&lt;/b&gt;" in html  # escaped in HTML
    assert '<a href="https://gw.example/open311/v2/requests/ABCD-1234.json">' in html
    assert "Reported by" not in text  # no personal data unless allowed


def test_contact_details_appear_only_when_given() -> None:
    msg = build_message(
        LIGHTS,
        item(payload(), contact=PersonalData(name="Ana", email="ana@example.org")),
        mail_from="x@civicloop.example",
    )
    text = msg.get_body(("plain",)).get_content()
    assert "Name: Ana" in text and "Email: ana@example.org" in text


def test_high_priority_is_marked_and_copied_to_the_priority_address() -> None:
    p = payload(priority=Priority.high, priority_email="urgent@city.example")
    msg = build_message(LIGHTS, item(p), mail_from="x@civicloop.example")
    assert msg["Subject"].startswith("[HIGH PRIORITY] ") and msg["Cc"] == "urgent@city.example"
    assert recipients(LIGHTS, item(p, purpose="priority_copy")) == (["urgent@city.example"], [])


def test_a_body_without_an_address_is_a_permanent_failure() -> None:
    nobody = BodyRecord("j", BodyDefined(body_id="x", name="X"))
    with pytest.raises(PermanentFailure):
        build_message(nobody, item(payload()), mail_from="x@civicloop.example")


def test_the_webhook_document_and_its_signature() -> None:
    body = BodyRecord(
        "j",
        BodyDefined(
            body_id="roads",
            name="Roads",
            send_method=SendMethod.webhook,
            webhook=WebhookConnection(url="http://h/hook", secret_ref="r"),
        ),
    )
    doc = document(body, item(payload(contact=None)))
    assert doc["request"]["request_id"] == "ABCD-1234" and doc["delivery_id"] == "d-7"
    assert "contact" not in doc["request"] and "priority_email" not in doc["request"]
    raw = json.dumps(doc).encode()
    assert sign("k", raw) == "sha256=" + hmac.new(b"k", raw, hashlib.sha256).hexdigest()


def test_external_ids_are_read_from_common_answer_shapes() -> None:
    def answer(body: object) -> httpx.Response:
        return httpx.Response(200, json=body)

    assert external_id_of(answer({"external_id": "WO-1"})) == "WO-1"
    assert external_id_of(answer([{"service_request_id": 42}])) == "42"
    assert external_id_of(answer({"ok": True})) is None
    assert external_id_of(httpx.Response(200, text="thanks")) is None
