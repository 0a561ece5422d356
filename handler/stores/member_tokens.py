"""Cognito's tokens verified against the user pool's published keys (its JWKS), with joserfc:
signature (RS256 only), issuer, audience (an ID token's ``aud``, an access token's
``client_id``), ``token_use`` and expiry. Every refusal is a 401 saying what to do.

The keys are fetched once and kept; a token signed with a key not among them (Cognito rotated
its keys) fetches them again, at most once a minute, so forged key ids cannot make each
request a fetch.
"""

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from handler.core.errors import AuthenticationFailed, ServiceError
from handler.core.records.members import Member

TokenUse = Literal["id", "access"]
ALGORITHMS = ["RS256"]  # what Cognito signs with; never "none", never HMAC
KEYS_MAX_AGE_SECONDS = 24 * 3600
KEYS_REFETCH_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 3


def pool_issuer(user_pool_id: str) -> str:
    """The ``iss`` of the pool's tokens (its id starts with its region: ``us-east-1_AbC``)."""
    region = user_pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def fetch_jwks(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ServiceError(f"The user pool's key URL is not HTTP: {url}", should_retry=False)
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310 - checked above
            document = json.load(answer)
    except (OSError, ValueError) as exc:
        raise ServiceError("Could not read the user pool's signing keys.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ServiceError("The user pool's signing keys are not a JWKS.")
    return document


class PublishedKeys:
    """The pool's JWKS, fetched on first use and kept (thread-safe)."""

    def __init__(
        self,
        url: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._url, self._fetch, self._clock = url, fetch, clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def current(self) -> KeySet:
        with self._lock:
            if self._keys is None or self._clock() - self._fetched_at > KEYS_MAX_AGE_SECONDS:
                self._load()
            assert self._keys is not None
            return self._keys

    def refetched(self) -> KeySet | None:
        """The keys fetched again, or None when they were fetched less than a minute ago."""
        with self._lock:
            if self._keys is not None and self._clock() - self._fetched_at < KEYS_REFETCH_SECONDS:
                return None
            self._load()
            return self._keys

    def _load(self) -> None:
        try:
            self._keys = KeySet.import_key_set(self._fetch(self._url))  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError) as exc:
            raise ServiceError("The user pool's signing keys cannot be read.") from exc
        self._fetched_at = self._clock()


class MemberTokens:
    """Verifies the tokens the pool issues to one app client (the console's)."""

    def __init__(
        self,
        user_pool_id: str,
        client_id: str,
        keys: PublishedKeys,
        now: Callable[[], int] = lambda: int(time.time()),
    ):
        self.issuer = pool_issuer(user_pool_id)
        self._client_id, self._keys, self._now = client_id, keys, now

    def verify(self, token: str, use: TokenUse = "id") -> Member:
        claims = self._claims(self._decoded(token), use)
        groups = claims.get("cognito:groups", [])
        email = claims.get("email")
        return Member(
            sub=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            groups=tuple(g for g in groups if isinstance(g, str)),
        )

    def _decoded(self, token: str) -> dict[str, Any]:
        try:
            try:
                return jwt.decode(token, self._keys.current(), algorithms=ALGORITHMS).claims
            except InvalidKeyIdError:
                keys = self._keys.refetched()
                if keys is None:
                    raise
                return jwt.decode(token, keys, algorithms=ALGORITHMS).claims
        except (JoseError, ValueError) as exc:  # ValueError: not a JWS at all
            raise _refused("The sign-in token is not valid: sign in again.") from exc

    def _claims(self, claims: dict[str, Any], use: TokenUse) -> dict[str, Any]:
        options: dict[str, ClaimsOption] = {
            "iss": {"essential": True, "value": self.issuer},
            "token_use": {"essential": True, "value": use},
            "exp": {"essential": True},
            "sub": {"essential": True},
            # An ID token names the client in aud, an access token in client_id.
            ("aud" if use == "id" else "client_id"): {"essential": True, "value": self._client_id},
        }
        required = jwt.JWTClaimsRegistry(self._now, 0, **options)
        try:
            required.validate(claims)
        except ExpiredTokenError as exc:
            raise _refused(
                "The sign-in token has expired: sign in again.", "token_expired"
            ) from exc
        except JoseError as exc:
            raise _refused(f"The sign-in token is not valid here ({exc.description}).") from exc
        return claims


def _refused(message: str, code: str = "invalid_token") -> AuthenticationFailed:
    return AuthenticationFailed(message, code=code)
