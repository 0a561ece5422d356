"""Who is calling: the bearer key, and how keys are issued."""

from handler.core.keys import NewKey, generate_key, hash_secret, parse_authorization, parse_key
from handler.core.records.keys import ApiKeyRecord, Credentials, KeyPolicy, TopUpSource
from handler.money.policy import Meter, check_key, rate_window
from handler.ports.keys import KeyStore


def credentials_of(authorization: str | None) -> Credentials:
    """The presented key, well formed (AuthenticationFailed if not) but not yet checked."""
    parsed = parse_authorization(authorization)
    return Credentials(parsed.key_id, hash_secret(parsed.secret))


def authenticate(credentials: Credentials, keys: KeyStore, *, now: float) -> ApiKeyRecord:
    """For the routes that cost nothing; priced routes check the key inside the reservation."""
    return check_key(keys.get(credentials.key_id), credentials, now)


def replayed(credentials: Credentials, keys: KeyStore, meter: Meter, *, now: float) -> None:
    """A replayed answer ran nothing: it reports the key's window as it stands, once the key
    is checked to be still in force."""
    if meter.window is None:
        meter.window = rate_window(authenticate(credentials, keys, now=now), now)


def issue_key(
    keys: KeyStore,
    name: str,
    policy: KeyPolicy,
    *,
    balance: int = 0,
    now: int,
    actor: str,
    source: TopUpSource,
    account_id: str | None = None,
) -> NewKey:
    """Create a key: a new account's first (its balance the ledger's opening top-up, by
    ``actor`` from ``source``), or one more of ``account_id``'s. The returned plaintext is the
    only copy there will ever be."""
    new = generate_key(account_id=account_id)
    record = ApiKeyRecord(new.key_id, name, new.secret_hash, "active", now, policy, balance)
    keys.create(record, actor=actor, source=source)
    return new


def register_key(
    keys: KeyStore, plaintext: str, name: str, policy: KeyPolicy, *, balance: int, now: int
) -> ApiKeyRecord:
    """Store a key whose plaintext already exists (the local stack's saved dev key)."""
    parsed = parse_key(plaintext)
    secret_hash = hash_secret(parsed.secret)
    record = ApiKeyRecord(parsed.key_id, name, secret_hash, "active", now, policy, balance)
    keys.create(record, actor="imagegate dev", source="cli")
    return record
