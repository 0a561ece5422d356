import hashlib

import pytest

from handler.core.errors import AuthenticationFailed
from handler.core.keys import generate_key, hash_secret, parse_authorization, parse_key


def test_generated_key_parses_back_and_stores_only_a_hash() -> None:
    # Given a new key
    new = generate_key()
    # When its plaintext is parsed
    parsed = parse_key(new.plaintext)
    # Then the id matches, and the stored hash is SHA-256 of the secret, not the secret
    assert parsed.key_id == new.key_id
    assert new.secret_hash == hashlib.sha256(parsed.secret.encode()).hexdigest()
    assert parsed.secret not in new.secret_hash
    assert new.plaintext.startswith(f"ig_{new.key_id}_")


def test_keys_are_unique() -> None:
    assert len({generate_key().plaintext for _ in range(200)}) == 200


def test_reprs_never_show_the_secret() -> None:
    new = generate_key()
    parsed = parse_key(new.plaintext)
    assert parsed.secret not in repr(parsed)
    assert new.plaintext not in repr(new)
    assert hash_secret(parsed.secret) not in repr(new)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Basic abc",
        "Bearer",
        "Bearer ",
        "Bearer sk-proj-abc",
        "Bearer ig_short_secret",
        "Bearer ig_0123456789ABCDEF_" + "a" * 43,  # key ids are lowercase hex
        "Bearer ig_0123456789abcdef_" + "a" * 42,
        "Bearer ig_0123456789abcdef_" + "a" * 42 + "!",
    ],
)
def test_missing_or_malformed_authorization_is_rejected(header: str | None) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        parse_authorization(header)
    assert caught.value.code == "invalid_api_key"


def test_bearer_scheme_is_case_insensitive() -> None:
    new = generate_key()
    assert parse_authorization(f"bearer {new.plaintext}").key_id == new.key_id
