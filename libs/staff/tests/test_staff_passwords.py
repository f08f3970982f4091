"""argon2id hashes and the rules of a new password."""

from civicloop_staff.passwords import (
    MAX_LENGTH,
    PasswordProblem,
    check_password,
    hash_password,
    password_problems,
)

GOOD = "correct horse battery staple"


def test_a_hash_is_argon2id_salted_and_checks_only_its_password():
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$") and first != second  # a salt of its own
    assert check_password(first, GOOD).ok
    assert not check_password(first, GOOD + "!").ok
    assert GOOD not in first


def test_the_same_password_typed_in_another_unicode_form_matches():
    stored = hash_password("caf\u00e9 au lait tous les jours")  # é as one code point
    assert check_password(stored, "cafe\u0301 au lait tous les jours").ok  # e + combining accent


def test_no_account_never_matches():
    assert check_password(None, GOOD) == check_password(None, "")
    assert not check_password(None, GOOD).ok


def test_a_broken_hash_or_a_huge_password_is_a_mismatch_not_an_error():
    assert not check_password("not a hash", GOOD).ok
    assert not check_password(hash_password(GOOD), GOOD * 1000).ok


def test_a_hash_of_weaker_parameters_is_replaced_on_the_next_sign_in():
    from argon2 import PasswordHasher, Type

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID).hash(GOOD)
    checked = check_password(weak, GOOD)
    assert checked.ok and checked.rehashed is not None and checked.rehashed != weak
    assert check_password(checked.rehashed, GOOD).ok
    assert check_password(hash_password(GOOD), GOOD).rehashed is None


def test_new_password_rules():
    assert password_problems(GOOD, email="agent.one@demo.example") == []
    assert password_problems("short") == [PasswordProblem.too_short]
    assert PasswordProblem.too_long in password_problems("x" * (MAX_LENGTH - 1) + "yz")
    assert password_problems("aaaaaaaaaaaaaaaa") == [PasswordProblem.one_character]
    assert password_problems("my name is Agent.One really", email="agent.one@demo.example") == [
        PasswordProblem.contains_email
    ]
