"""A member's Cognito token is believed only when the pool's key signed it for the console's
client, as the kind of token asked for, and it has not expired; each refusal is a 401 that
says so, and a key the pool rotated in is fetched once, not on every forged request."""

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from handler.core.errors import AuthenticationFailed, ServiceError, status_of
from handler.stores.member_tokens import MemberTokens, PublishedKeys, fetch_jwks, pool_issuer

POOL, CLIENT = "us-east-1_TestPool1", "console-client-1"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
NOW = 1_800_000_000
KEY = RSAKey.generate_key(2048, parameters={"kid": "pool-key-1", "alg": "RS256", "use": "sig"})


class Jwks:
    """The pool's published keys, served from memory; counts its fetches."""

    def __init__(self, *keys: RSAKey):
        self.keys, self.fetches = list(keys), 0

    def __call__(self, url: str) -> dict[str, Any]:
        assert url == f"{ISSUER}/.well-known/jwks.json"
        self.fetches += 1
        return {"keys": [key.as_dict(private=False) for key in self.keys]}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _verifier(jwks: Jwks, clock: Clock | None = None) -> MemberTokens:
    keys = PublishedKeys(f"{ISSUER}/.well-known/jwks.json", jwks, clock or Clock())
    return MemberTokens(POOL, CLIENT, keys, now=lambda: NOW)


def _token(key: RSAKey = KEY, use: str = "id", changes: dict[str, Any] | None = None) -> str:
    claims: dict[str, Any] = {
        "sub": "5f1e-member",
        "iss": ISSUER,
        "token_use": use,
        "exp": NOW + 3600,
        "iat": NOW - 10,
        "auth_time": NOW - 10,
        "cognito:groups": ["operators"],
    }
    if use == "id":
        claims |= {"aud": CLIENT, "email": "ada@example.com", "email_verified": True}
    else:
        claims |= {"client_id": CLIENT, "scope": "aws.cognito.signin.user.admin"}
    claims |= changes or {}
    header = {"alg": "RS256", "kid": key.kid}
    return jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key)


def _refusal(verifier: MemberTokens, token: str, use: str = "id") -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as refused:
        verifier.verify(token, use)  # type: ignore[arg-type]
    assert status_of(refused.value) == 401
    return refused.value


def test_the_issuer_is_the_pools_own() -> None:
    assert pool_issuer(POOL) == ISSUER


def test_an_id_token_names_the_member_their_email_and_groups() -> None:
    member = _verifier(Jwks(KEY)).verify(_token())
    assert (member.sub, member.email, member.groups) == (
        "5f1e-member",
        "ada@example.com",
        ("operators",),
    )
    assert member.is_operator


def test_an_access_token_names_the_member_without_an_email() -> None:
    member = _verifier(Jwks(KEY)).verify(
        _token(use="access", changes={"cognito:groups": None}), "access"
    )
    assert (member.sub, member.email, member.groups, member.is_operator) == (
        "5f1e-member",
        None,
        (),
        False,
    )


def test_an_expired_token_is_refused_as_expired() -> None:
    refused = _refusal(_verifier(Jwks(KEY)), _token(changes={"exp": NOW - 1}))
    assert refused.code == "token_expired"
    assert "expired" in refused.message


@pytest.mark.parametrize(
    ("changes", "use"),
    [
        ({"aud": "another-client"}, "id"),  # another app client of the pool
        ({"client_id": "another-client"}, "access"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"}, "id"),
        ({"token_use": "access"}, "id"),  # an access token where an ID token is asked for
        ({"token_use": "id"}, "access"),
        ({"exp": None}, "id"),  # never expiring
        ({"sub": None}, "id"),
    ],
)
def test_a_token_for_another_client_pool_or_use_is_refused(
    changes: dict[str, Any], use: str
) -> None:
    refused = _refusal(_verifier(Jwks(KEY)), _token(use=use, changes=changes), use)
    assert refused.code == "invalid_token"
    assert refused.type == "authentication_error"


def test_a_token_signed_by_another_key_under_the_pools_key_id_is_refused() -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "pool-key-1"})
    assert _refusal(_verifier(Jwks(KEY)), _token(key=forger)).code == "invalid_token"


def test_tokens_not_signed_with_rs256_are_refused() -> None:
    shared = OctKey.import_key("a-secret-anyone-could-guess-0123456789abcdef")
    hmac = jwt.encode({"alg": "HS256", "kid": KEY.kid}, {"sub": "x", "iss": ISSUER}, shared)
    unsigned = (
        _token().rsplit(".", 1)[0].replace(_token().split(".")[0], "eyJhbGciOiJub25lIn0") + "."
    )
    for token in (hmac, unsigned, "not-a-token", ""):
        assert _refusal(_verifier(Jwks(KEY)), token).code == "invalid_token"


def test_an_unknown_key_id_fetches_the_keys_again_at_most_once_a_minute() -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-the-pools"})
    jwks, clock = Jwks(KEY), Clock()
    verifier = _verifier(jwks, clock)
    for _ in range(5):
        assert _refusal(verifier, _token(key=stranger)).code == "invalid_token"
    assert jwks.fetches == 1  # fetched just now: an unknown key id is no reason to ask again
    clock.now += 61
    for _ in range(5):
        _refusal(verifier, _token(key=stranger))
    assert jwks.fetches == 2  # once more a minute later, then not again within the minute


def test_a_key_rotated_in_is_found_by_fetching_again() -> None:
    rotated = RSAKey.generate_key(2048, parameters={"kid": "pool-key-2"})
    jwks, clock = Jwks(KEY), Clock()
    verifier = _verifier(jwks, clock)
    verifier.verify(_token())
    jwks.keys.append(rotated)
    clock.now += 120
    assert verifier.verify(_token(key=rotated)).sub == "5f1e-member"
    assert jwks.fetches == 2


def test_keys_out_of_reach_are_our_failure_not_the_members() -> None:
    def unreachable(url: str) -> dict[str, Any]:
        raise ServiceError("Could not read the user pool's signing keys.")

    keys = PublishedKeys(f"{ISSUER}/.well-known/jwks.json", unreachable)
    with pytest.raises(ServiceError) as failed:
        MemberTokens(POOL, CLIENT, keys).verify(_token())
    assert status_of(failed.value) >= 500
    broken = PublishedKeys("x", lambda url: {"keys": [{"kty": "nonsense"}]})
    with pytest.raises(ServiceError):
        MemberTokens(POOL, CLIENT, broken).verify(_token())


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(ServiceError, match="not HTTP"):
        fetch_jwks("file:///etc/passwd")


def test_the_real_clock_refuses_tokens_of_the_past() -> None:
    keys = PublishedKeys("jwks", lambda url: {"keys": [KEY.as_dict(private=False)]})
    old = _token(changes={"exp": int(time.time()) - 5})
    with pytest.raises(AuthenticationFailed, match="expired"):
        MemberTokens(POOL, CLIENT, keys).verify(old)
