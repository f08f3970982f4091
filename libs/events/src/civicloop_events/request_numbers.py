"""Request numbers: short, read aloud over the phone, unique across every producer without a central counter.

40 bits written in Crockford base32 (no I, L, O, U: nothing to mistake for 1, 0 or a word) as `XXXX-XXXX`. The number
is the envelope's `request_id`, the Kafka key and the Open311 `service_request_id`, so two requests under one number
would share one event stream: its format and its uniqueness rule belong to the contract.

The rule: the first symbol of a number is its producer's tag (`PRODUCER_TAGS`), and the 35 bits after it are the
producer's own space. A producer draws only inside its tag and checks only its own table (a unique index); two
producers can never draw the same number, and a collision inside one producer is caught by its index and drawn
again (`store_with_new_number`), never merged. Adding a producer means adding a tag here. Numbers made before the
tags existed (40 random bits, any first symbol) stay valid: `parse` accepts every well-formed number.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BITS = 40
LENGTH = BITS // 5
TAG_BITS = 5  # one base32 symbol
SPACE_BITS = BITS - TAG_BITS  # 34 billion numbers per producer
MAX_DRAWS = 8
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# What a person may type or hear instead (Crockford's decoding rules).
_ALIASES = {"O": "0", "I": "1", "L": "1"}

# Every producer of `ServiceRequestSubmitted`, present and future, and the first symbol of the numbers it draws.
# Tags are never reused or moved: a number's first symbol says forever who made it.
PRODUCER_TAGS: dict[str, str] = {
    "intake": "1",  # residents' submissions (web, phone, agents)
    "open311-gateway": "2",  # partners' POST requests
    "open311-import": "3",  # requests imported from a back-end's Open311 (numbers hashed from its ids)
}

log = logging.getLogger("civicloop.request_numbers")
T = TypeVar("T")


class InvalidRequestNumber(ValueError):
    """Text that cannot be a request number."""


class RequestNumberTaken(Exception):
    """The producer's own table already holds this number (its unique index said so): draw again."""


class RequestNumbersExhausted(RuntimeError):
    """Every draw hit a taken number: refuse the command rather than reuse a number."""


def encode(value: int) -> str:
    """40 bits -> `XXXX-XXXX`."""
    if not 0 <= value < 1 << BITS:
        raise ValueError(f"a request number holds {BITS} bits")
    chars = [ALPHABET[(value >> shift) & 31] for shift in range(BITS - 5, -1, -5)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def decode(number: str) -> int:
    value = 0
    for ch in parse(number).replace("-", ""):
        value = (value << 5) | _VALUE[ch]
    return value


def new_request_number(randbits: Callable[[int], int] = secrets.randbits) -> str:
    """40 random bits, no producer tag: for tests and tools that need a well-formed number, never for a producer."""
    return encode(randbits(BITS))


def tag_of(producer: str) -> str:
    try:
        return PRODUCER_TAGS[producer]
    except KeyError:
        raise ValueError(f"{producer!r} has no request-number tag; add one to PRODUCER_TAGS") from None


def producer_of(number: str) -> str | None:
    """The producer whose tag the number starts with (a number made before the tags may start with any symbol)."""
    first = parse(number)[0]
    return next((p for p, tag in PRODUCER_TAGS.items() if tag == first), None)


def in_space(producer: str, value: int) -> str:
    """The number at `value` (0 <= value < 2**SPACE_BITS) of the producer's space."""
    if not 0 <= value < 1 << SPACE_BITS:
        raise ValueError(f"a producer's space holds {SPACE_BITS} bits")
    return encode(_VALUE[tag_of(producer)] << SPACE_BITS | value)


def draw(producer: str, randbits: Callable[[int], int] = secrets.randbits) -> str:
    """A random number inside the producer's tag."""
    return in_space(producer, randbits(SPACE_BITS))


def hashed(producer: str, identity: str, attempt: int = 0, *, space_bits: int = SPACE_BITS) -> str:
    """A number inside the producer's tag drawn from an identity, so the same identity gets the same number again.

    Two identities may hash alike: see `first_unheld`. `space_bits` below `SPACE_BITS` shrinks the space (tests).
    """
    seed = hashlib.sha256(f"{identity}\x1f{attempt}".encode()).digest()
    return in_space(producer, int.from_bytes(seed, "big") >> (256 - space_bits))


async def first_unheld(
    producer: str,
    identity: str,
    held_by_another: Callable[[str], Awaitable[bool]],
    *,
    space_bits: int = SPACE_BITS,
    attempts: int = MAX_DRAWS,
) -> str:
    """The identity's hashed number, or its next attempt while another identity holds it.

    Deterministic: whoever took a number first keeps it, and the same identity finds the same number again.
    """
    for attempt in range(attempts):
        number = hashed(producer, identity, attempt, space_bits=space_bits)
        if not await held_by_another(number):
            return number
        log.warning(
            "hashed request number held by another identity, trying the next", extra={"producer": producer}
        )
    raise RequestNumbersExhausted(f"no free hashed request number after {attempts} attempts")


async def store_with_new_number(
    producer: str,
    store: Callable[[str], Awaitable[T]],
    *,
    randbits: Callable[[int], int] = secrets.randbits,
    draws: int = MAX_DRAWS,
) -> T:
    """Draw a number inside the producer's tag and `store` it; draw again while `store` raises `RequestNumberTaken`."""
    for _ in range(draws):
        try:
            return await store(draw(producer, randbits))
        except RequestNumberTaken:
            log.warning("request number drawn twice, drawing again", extra={"producer": producer})
    raise RequestNumbersExhausted(f"no free request number after {draws} draws")


def parse(text: str) -> str:
    """Canonical form of what a resident typed: case, spaces and hyphens ignored; O -> 0, I and L -> 1."""
    compact = "".join(ch for ch in text.upper() if ch not in " -")
    compact = "".join(_ALIASES.get(ch, ch) for ch in compact)
    if len(compact) != LENGTH or any(ch not in _VALUE for ch in compact):
        raise InvalidRequestNumber(f"not a request number: {text!r}")
    return compact[:4] + "-" + compact[4:]
