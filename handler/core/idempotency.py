"""``Idempotency-Key``: one rule for every route that takes it. The same key with the same
request answers the first answer again, marked as replayed; the same key with another request
is a 409 ``idempotency_key_reused``; a duplicate while the first still runs, a 409
``idempotency_in_progress``. The records are the ``Idempotency`` port's (24 hours);
``api/replays.py`` answers with them."""

from typing import Literal

from handler.core.errors import InvalidRequest
from handler.core.records.keys import Credentials

MAX_IDEMPOTENCY_KEY_CHARS = 255


def idempotency_scope(
    kind: Literal["generation", "job", "batch", "movement"], owner: Credentials | str, key: str
) -> str:
    """The record an ``Idempotency-Key`` names: one per kind of call and ``owner``. A key
    holder's is scoped by the secret's hash too, so only the holder reaches it; an operator's
    money movement by the key it moves money on. The client's string comes last, after parts
    that hold no colon, so no key of one kind spells another's record."""
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters.",
            param="Idempotency-Key",
        )
    if isinstance(owner, Credentials):
        return f"{kind}:{owner.key_id}:{owner.secret_hash}:{key}"
    return f"{kind}:{owner}:{key}"
