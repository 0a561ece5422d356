"""Who is calling: the bearer key checked against the key store."""

from handler.core.errors import AuthenticationFailed
from handler.core.keys import (
    NewKey,
    generate_key,
    hash_secret,
    parse_authorization,
    parse_key,
    secret_matches,
)
from handler.core.ports import ApiKeyRecord, KeyStore

_UNKNOWN = "Incorrect API key provided. Check the key, or ask the operator for a new one."


def authenticate(authorization: str | None, keys: KeyStore) -> ApiKeyRecord:
    parsed = parse_authorization(authorization)
    record = keys.get(parsed.key_id)
    # Unknown id and wrong secret read the same, so a caller cannot probe for key ids.
    if record is None or not secret_matches(parsed.secret, record.secret_hash):
        raise AuthenticationFailed(_UNKNOWN)
    if record.status != "active":
        raise AuthenticationFailed("This API key has been revoked.")
    return record


def issue_key(keys: KeyStore, name: str, *, now: int) -> NewKey:
    """Create a key; the returned plaintext is the only copy there will ever be."""
    new = generate_key()
    keys.create(ApiKeyRecord(new.key_id, name, new.secret_hash, "active", now))
    return new


def register_key(keys: KeyStore, plaintext: str, name: str, *, now: int) -> ApiKeyRecord:
    """Store a key whose plaintext already exists (the local stack's saved dev key)."""
    parsed = parse_key(plaintext)
    record = ApiKeyRecord(parsed.key_id, name, hash_secret(parsed.secret), "active", now)
    keys.create(record)
    return record
