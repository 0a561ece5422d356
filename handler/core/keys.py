"""API key format: ``ig_<key id>_<secret>``.

The key id is public (it names the record and shows in logs); the secret is 256 random bits,
of which only a SHA-256 is kept. A slow hash would add nothing: the secret is not a password
that could be guessed from a dictionary.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

from handler.core.errors import AuthenticationFailed

PREFIX = "ig"
_KEY_RE = re.compile(r"ig_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")


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


def generate_key(key_id: str | None = None) -> NewKey:
    """A new key, or a new secret for ``key_id`` (a rotation)."""
    key_id = key_id or secrets.token_hex(8)
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
