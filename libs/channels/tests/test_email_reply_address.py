"""Per-request reply addresses: a resident's reply by email finds its request, and no one else's does."""

from __future__ import annotations

import pytest
from civicloop_channels.email import ReplyAddress, read_reply_address, reply_address, reply_is_from

KEY = b"k" * 32
DOMAIN = "reply.county.example"
RESIDENT = "res_01JEANA7"


def test_a_reply_address_leads_back_to_its_request_and_its_resident():
    address = reply_address("7KQ4-MZT2", RESIDENT, key=KEY, domain=DOMAIN)
    reply = read_reply_address(address, domain=DOMAIN)
    assert reply is not None and reply.request_number == "7KQ4-MZT2"
    assert reply_is_from(reply, RESIDENT, key=KEY)


def test_the_address_is_lower_case_and_names_no_resident():
    address = reply_address("7kq4 mzt2", RESIDENT, key=KEY, domain="Reply.County.Example")
    assert address == address.lower()
    assert address.startswith("r-7kq4mzt2-") and address.endswith("@reply.county.example")
    assert RESIDENT.lower() not in address


def test_the_same_request_and_resident_always_make_the_same_address():
    assert reply_address("7KQ4-MZT2", RESIDENT, key=KEY, domain=DOMAIN) == reply_address(
        "7KQ4-MZT2", RESIDENT, key=KEY, domain=DOMAIN
    )


def test_a_reply_read_in_any_case_or_in_angle_brackets_still_counts():
    address = reply_address("7KQ4-MZT2", RESIDENT, key=KEY, domain=DOMAIN)
    reply = read_reply_address(f"<{address.upper()}>", domain=DOMAIN)
    assert reply is not None and reply_is_from(reply, RESIDENT, key=KEY)


def test_another_resident_another_key_or_another_request_does_not_match():
    address = reply_address("7KQ4-MZT2", RESIDENT, key=KEY, domain=DOMAIN)
    reply = read_reply_address(address, domain=DOMAIN)
    assert reply is not None
    assert not reply_is_from(reply, "res_01JEBOB9", key=KEY)
    assert not reply_is_from(reply, RESIDENT, key=b"x" * 32)
    moved = ReplyAddress("7KQ4-MZT3", reply.tag)  # the tag put on another (public) request number
    assert not reply_is_from(moved, RESIDENT, key=KEY)


@pytest.mark.parametrize(
    "address",
    [
        "ana.lopez@example.org",
        "r-7kq4mzt2-aaaaaaaaaaaaaaaa@other.example",  # not our domain
        "r-7kq4mzt2@reply.county.example",  # no tag
        "r-7kq4mzu2-aaaaaaaaaaaaaaaa@reply.county.example",  # U is no Crockford symbol
        "r-7kq4mzt2-aaaaaaaaaaaaaaa1@reply.county.example",  # 1 is no base32 symbol
        "",
    ],
)
def test_any_other_address_is_not_a_reply_address(address: str):
    assert read_reply_address(address, domain=DOMAIN) is None
