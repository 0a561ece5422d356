"""API key format: ``ig_<key id>_<secret>``.

The key id is public (it names the record and shows in logs); the secret is 256 random bits,
of which only a SHA-256 is kept. A slow hash would add nothing: the secret is not a password
that could be guessed from a dictionary.

A key id names the account the key spends from: ``<account id>-<8 hex>`` for a key an account
made, or the account id itself for an account's first key, made by an operator (every key from
before accounts is one, the only key of an account of its own). A key never changes account,
so where its money is needs no lookup.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

from handler.core.errors import AuthenticationFailed

PREFIX = "ig"
_ID = r"[0-9a-f]{16}"
_KEY_RE = re.compile(rf"ig_(?P<key_id>{_ID}(?:-[0-9a-f]{{8}})?)_(?P<secret>[A-Za-z0-9_-]{{43}})")
ACCOUNT_ID = re.compile(_ID)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: str
    secret: str

    def __repr__(self) -> str:  # the secret must never reach a log through a repr
        return f"ParsedKey(key_id={self.key_id!r}, secret=<redacted>)"


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    plaintext: str
    secret_hash: str

    def __repr__(self) -> str:
        return f"NewKey(key_id={self.key_id!r}, plaintext=<redacted>)"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def account_of(key_id: str) -> str:
    """The account a key spends from (``key_id`` itself for an account's first key)."""
    return key_id.partition("-")[0]


def new_account_id() -> str:
    return secrets.token_hex(8)


def generate_key(key_id: str | None = None, *, account_id: str | None = None) -> NewKey:
    """A new key (an account's first, or one more of ``account_id``'s), or a new secret for
    ``key_id`` (a rotation)."""
    if key_id is None:
        key_id = new_account_id() if account_id is None else f"{account_id}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{PREFIX}_{key_id}_{secret}", hash_secret(secret))


def parse_key(plaintext: str) -> ParsedKey:
    match = _KEY_RE.fullmatch(plaintext)
    if match is None:
        raise AuthenticationFailed(
            "Incorrect API key provided. imagegate keys look like ig_<key id>_<secret>."
        )
    return ParsedKey(match["key_id"], match["secret"])


def parse_authorization(header: str | None) -> ParsedKey:
    if not header or not header.strip():
        raise AuthenticationFailed(
            "You didn't provide an API key. Send it in an Authorization header using "
            "Bearer auth (Authorization: Bearer YOUR_KEY)."
        )
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise AuthenticationFailed(
            "The Authorization header must use Bearer auth (Authorization: Bearer YOUR_KEY)."
        )
    return parse_key(credentials.strip())
