import pytest

from core.auth.passwords import hash_password, validate_password, verify_password
from core.errors import ValidationFailed


def test_hashes_are_argon2id_and_verify():
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "a long enough password")
    assert not verify_password(stored, "a long enough passworD")


def test_same_password_hashes_differently_each_time():
    assert hash_password("a long enough password") != hash_password("a long enough password")


def test_garbage_hash_does_not_verify():
    assert not verify_password("not-a-hash", "whatever")


def test_short_passwords_are_refused_naming_the_field():
    with pytest.raises(ValidationFailed) as info:
        validate_password("short")
    assert info.value.field == "password"


def test_common_passwords_are_refused_whatever_the_case():
    for common in ("password1234", "Qwertyuiop123", "iloveyou2020", "111111111111"):
        with pytest.raises(ValidationFailed) as info:
            validate_password(common)
        assert "common" in info.value.message and info.value.field == "password"
    validate_password("plum tractor velvet lagoon")  # long and not on the list


def test_the_shipped_list_is_substantial():
    from core.auth.passwords import common_passwords

    assert len(common_passwords()) > 4000
