"""The push service and the govDelivery account run as processes of their own, as a local run starts them, and
show what they received to a person with curl."""

import base64
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from civicloop_channels.govdelivery import GovDeliverySender, GovDeliverySettings, topics_to
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.web_push import WebPushSender, WebPushSettings
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from defusedxml import ElementTree


@contextmanager
def _running(module: str, *args: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", module, "--port", str(port), *args])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def _up(base_url: str, path: str) -> None:
    async def answers() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                await client.get(f"{base_url}{path}")
        except httpx.TransportError:
            return False
        return True

    await eventually(answers, timeout=20, what=f"{base_url} to answer")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_a_push_service_run_by_hand_makes_subscriptions_and_shows_what_it_decrypted():
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = _b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    with _running("civicloop_testing.push_service") as base_url:
        await _up(base_url, "/received")
        async with httpx.AsyncClient(base_url=base_url) as client:
            made = await client.post("/subscriptions", json={"applicationServerKey": _b64url(public)})
            assert made.status_code == 201
            sender = WebPushSender(WebPushSettings(private, "mailto:311@county.example"))
            try:
                message = OutgoingMessage(
                    "evt-1:res-1:push", Channel.push, made.text, "Request received", "en"
                )
                result = await sender.send(message)
            finally:
                await sender.aclose()
            assert result.outcome is Outcome.accepted
            [shown] = (await client.get("/received")).json()
            assert shown["message"] == result.provider_id
            assert shown["payload"] == {"id": "evt-1:res-1:push", "lang": "en", "body": "Request received"}


async def test_a_govdelivery_account_run_by_hand_lists_the_bulletins_it_sent():
    topic = "MDPGC_311_CAT_POTHOLE"
    args = ("--account", "MDPGC", "--user", "api", "--password", "pw", "--topics", topic)
    with _running("civicloop_testing.govdelivery_server", *args) as base_url:
        sent_xml = "/api/account/MDPGC/bulletins/sent.xml"
        await _up(base_url, sent_xml)
        sender = GovDeliverySender(GovDeliverySettings(base_url, "MDPGC", "api", "pw"))
        try:
            for n in (1, 2):
                update = OutgoingMessage(
                    f"m-{n}", Channel.govdelivery, topics_to((topic,)), f"Update {n}", subject=f"S{n}"
                )
                assert (await sender.send(update)).outcome is Outcome.accepted
        finally:
            await sender.aclose()
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get(sent_xml)).status_code == 401
            listed = ElementTree.fromstring((await client.get(sent_xml, auth=("api", "pw"))).content)
        assert [b.findtext("subject") for b in listed.findall("bulletin")] == ["S2", "S1"]
        assert [c.text for c in listed.findall("./bulletin/topics/topic/code")] == [topic, topic]
