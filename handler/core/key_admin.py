"""What operators do to keys, and the rules it follows, for every way they reach it: the admin
API (IAM-signed), ``imagegate keys`` and the admin function. Each change is an entry naming
its actor: a ledger entry when it moves money, an audit entry when it changes the key."""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from handler.core.auth import issue_key
from handler.core.catalog import Catalog
from handler.core.errors import InvalidRequest, NotFound
from handler.core.keys import generate_key
from handler.core.ledger import Entries, operator_entry
from handler.core.ports import ApiKeyRecord, KeyPolicy, KeyStore, Ledger, TopUpSource, UsageRecord

AuditAction = Literal["created", "updated", "revoked", "rotated"]
MAX_GRACE_SECONDS = 7 * 86_400
# What an update may change, by its name in the admin API.
POLICY_FIELDS = ("name", "requests_per_minute", "images_per_minute", "models", "expires_at")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    key_id: str
    action: AuditAction
    actor: str
    at: int  # unix milliseconds
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: Sequence[ApiKeyRecord]
    next_key_id: str | None  # where the next page starts; None: this was the last


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    plaintext: str  # its only copy

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.record.key_id!r}, plaintext=<redacted>)"


class KeyChanges(Protocol):
    """The key writes only operators make, each with its audit entry in the same transaction."""

    def update(self, key_id: str, changes: Mapping[str, Any], audit: AuditEntry) -> ApiKeyRecord:
        """Set each of ``changes`` (policy attributes; None removes one)."""
        ...

    def revoke(self, audit: AuditEntry) -> ApiKeyRecord: ...

    def rotate(self, new_secret_hash: str, previous_until: int, audit: AuditEntry) -> ApiKeyRecord:
        """The new secret in force; the old one still works until ``previous_until``."""
        ...

    def page(self, *, limit: int, after: str | None) -> KeyPage: ...

    def audit(self, key_id: str, *, limit: int) -> Sequence[AuditEntry]:
        """The key's audit entries, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class KeyAdmin:
    keys: KeyStore
    changes: KeyChanges
    entries: Entries
    # The deployment's catalog, to check a key's models against; None where it is not at hand
    # (the command line on a keys table): the models are then taken as given.
    catalog: Catalog | None
    clock: Callable[[], float] = field(default=time.time)

    def create(
        self,
        actor: str,
        name: str,
        policy: KeyPolicy,
        *,
        balance: int = 0,
        source: TopUpSource = "admin",
    ) -> IssuedKey:
        self._check_models(policy.models)
        now = int(self.clock())
        new = issue_key(
            self.keys, name, policy, balance=balance, now=now, actor=actor, source=source
        )
        return IssuedKey(self.show(new.key_id), new.plaintext)

    def show(self, key_id: str) -> ApiKeyRecord:
        record = self.keys.get(key_id)
        if record is None:
            raise NotFound(f"No API key with id {key_id}.", param="key_id")
        return record

    def update(self, actor: str, key_id: str, changes: Mapping[str, Any]) -> ApiKeyRecord:
        unknown = sorted(set(changes) - set(POLICY_FIELDS))
        if unknown:
            raise InvalidRequest(f"Not a key's policy: {', '.join(unknown)}.", param=unknown[0])
        if not changes:
            raise InvalidRequest("Nothing to change.", param=None)
        for required in ("name", "requests_per_minute", "images_per_minute"):
            if required in changes and changes[required] is None:
                raise InvalidRequest(f"A key always has its {required}.", param=required)
        if "models" in changes:
            self._check_models(changes["models"])
        return self.changes.update(key_id, changes, self._audit(key_id, "updated", actor, changes))

    def move(
        self,
        kind: Literal["topup", "adjustment"],
        actor: str,
        key_id: str,
        amount: int,
        reason: str | None,
        *,
        source: TopUpSource = "admin",
    ) -> ApiKeyRecord:
        """A top-up or an adjustment of ``amount`` micro-units: a ledger entry by ``actor``."""
        at = int(self.clock() * 1000)
        entry = operator_entry(kind, key_id, amount, reason, actor=actor, at=at, source=source)
        return self.entries.post(entry)

    def revoke(self, actor: str, key_id: str) -> ApiKeyRecord:
        return self.changes.revoke(self._audit(key_id, "revoked", actor))

    def rotate(self, actor: str, key_id: str, grace_seconds: int) -> IssuedKey:
        """A new secret for the key; the old one keeps working for ``grace_seconds``."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise InvalidRequest(
                f"grace_seconds is 0 to {MAX_GRACE_SECONDS} (seven days).", param="grace_seconds"
            )
        new = generate_key(key_id)
        until = int(self.clock()) + grace_seconds
        audit = self._audit(key_id, "rotated", actor, {"previous_valid_until": until})
        return IssuedKey(self.changes.rotate(new.secret_hash, until, audit), new.plaintext)

    def usage(
        self, ledger: Ledger, *, start_ms: int, end_ms: int
    ) -> list[tuple[str, list[UsageRecord]]]:
        """Every key's usage records over a period, by key id."""
        key_ids = sorted(record.key_id for record in self.keys.list())
        return [(k, ledger.usage(k, start_ms=start_ms, end_ms=end_ms)) for k in key_ids]

    def _audit(
        self,
        key_id: str,
        action: AuditAction,
        actor: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        at = int(self.clock() * 1000)
        return AuditEntry(key_id, action, actor, at, dict(details or {}))

    def _check_models(self, models: object) -> None:
        if models is None or self.catalog is None:
            return
        offered = {model.id for model in self.catalog.models}
        unknown = sorted(set(models) - offered)  # type: ignore[call-overload]
        if unknown:
            raise InvalidRequest(f"Not in the catalog: {', '.join(unknown)}.", param="models")
