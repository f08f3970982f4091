"""Request numbers are unique across producers: each draws inside its own tag and checks only its own table.

The number space is shrunk until collisions are certain (a `randbits` of two bits, a hash space of two bits): numbers
of different producers still never meet, a collision inside one producer is drawn again, and running out of numbers
is an error, never a second request under a number already in use.
"""

import random

import pytest
from civicloop_events import request_numbers as rn
from hypothesis import given
from hypothesis import strategies as st

TINY = 2  # bits: four numbers per producer
DRAWN_PRODUCERS = ("intake", "open311-gateway")  # draw at random
HASHING_PRODUCERS = ("open311-import",)  # hash a back-end's ids


class OwnTable:
    """A producer's table with its unique index on the request number."""

    def __init__(self) -> None:
        self.numbers: set[str] = set()

    async def add(self, number: str) -> str:
        if number in self.numbers:
            raise rn.RequestNumberTaken(number)
        self.numbers.add(number)
        return number


def test_tags_are_distinct_single_symbols_of_the_alphabet():
    tags = list(rn.PRODUCER_TAGS.values())
    assert len(tags) == len(set(tags))
    assert all(len(tag) == 1 and tag in rn.ALPHABET for tag in tags)
    assert set(DRAWN_PRODUCERS + HASHING_PRODUCERS) == set(rn.PRODUCER_TAGS)


@given(st.sampled_from(sorted(rn.PRODUCER_TAGS)), st.integers(0, (1 << rn.SPACE_BITS) - 1))
def test_a_producer_draws_inside_its_tag_in_the_usual_format(producer, value):
    number = rn.draw(producer, randbits=lambda bits: value)
    assert rn.parse(number) == number and number[0] == rn.PRODUCER_TAGS[producer]
    assert rn.producer_of(number) == producer


def test_a_producer_without_a_tag_cannot_draw():
    with pytest.raises(ValueError, match="PRODUCER_TAGS"):
        rn.draw("notifier")


@given(st.integers(0, (1 << rn.BITS) - 1))
def test_numbers_made_before_the_tags_still_parse(value):
    number = rn.encode(value)
    assert rn.parse(number) == number


async def test_in_a_tiny_space_producers_never_collide_and_a_collision_is_drawn_again():
    rng = random.Random(7)
    tables = {producer: OwnTable() for producer in DRAWN_PRODUCERS}
    for producer, table in tables.items():
        for _ in range(1 << TINY):  # fills the producer's tiny space: later draws must hit taken numbers
            await rn.store_with_new_number(
                producer, table.add, randbits=lambda bits: rng.getrandbits(TINY), draws=64
            )
    imported = OwnTable()
    for external_id in range(1 << TINY):

        async def held_by_another(number: str) -> bool:
            return number in imported.numbers

        number = await rn.first_unheld(
            "open311-import", f"body\x1f{external_id}", held_by_another, space_bits=TINY, attempts=64
        )
        await imported.add(number)

    every = [n for t in [*tables.values(), imported] for n in t.numbers]
    assert all(len(t.numbers) == 1 << TINY for t in [*tables.values(), imported])  # each space is full...
    assert len(every) == len(set(every)) == 3 << TINY  # ...and no number belongs to two producers


async def test_a_full_space_is_an_error_not_a_reused_number():
    table = OwnTable()
    for value in range(1 << TINY):
        await table.add(rn.in_space("intake", value))
    with pytest.raises(rn.RequestNumbersExhausted, match="no free request number after 8 draws"):
        await rn.store_with_new_number("intake", table.add, randbits=lambda bits: random.getrandbits(TINY))
    assert len(table.numbers) == 1 << TINY


async def test_a_hashed_number_stays_with_the_identity_that_took_it_first():
    holders: dict[str, str] = {}

    async def take(identity: str) -> str:
        async def held_by_another(number: str) -> bool:
            return holders.get(number, identity) != identity

        number = await rn.first_unheld("open311-import", identity, held_by_another, space_bits=0, attempts=1)
        holders[number] = identity
        return number

    first = await take("a")
    assert await take("a") == first  # a retried import finds its number again
    with pytest.raises(rn.RequestNumbersExhausted):
        await take("b")  # a space of one number: the second identity is refused, never merged into the first
    assert holders == {first: "a"}
