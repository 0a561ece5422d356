"""What operators do to keys, and the rules it follows, for every way they reach it: the admin
API (IAM-signed), ``imagegate keys`` and the admin function. Each change is an entry naming
its actor: a ledger entry when it moves money, an audit entry when it changes the key."""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from handler.core.catalog import Catalog
from handler.core.errors import IdempotencyKeyReused, InvalidRequest, NotFound, StorageError
from handler.core.keys import ACCOUNT_ID, account_of, generate_key
from handler.core.outcomes import AlreadyPosted, KeyChanged
from handler.core.records.charges import UsageRecord
from handler.core.records.keys import (
    ApiKeyRecord,
    AuditAction,
    AuditEntry,
    IssuedKey,
    KeyPolicy,
    TopUpSource,
)
from handler.core.webhooks import check_webhook_url
from handler.keys.auth import issue_key
from handler.money.alerts import alert_if_crossed
from handler.money.ledger import movement_once, operator_entry
from handler.money.reloads import check_reload_policy
from handler.money.spend import NO_CAP, day_window, month_window
from handler.ports.balance_alerts import BalanceAlerts
from handler.ports.charges import ChargeStore
from handler.ports.key_changes import KeyChanges
from handler.ports.keys import KeyStore
from handler.ports.ledger import Entries

MAX_GRACE_SECONDS = 7 * 86_400
# What an update may change, by its name in the admin API.
POLICY_FIELDS = (
    "name",
    "requests_per_minute",
    "images_per_minute",
    "models",
    "expires_at",
    "daily_spend_cap",
    "monthly_spend_cap",
    "low_balance_threshold",
    "webhook_url",
    "reload_below",
    "reload_amount",
    "reload_monthly_cap",
)
RELOAD_FIELDS = ("reload_below", "reload_amount", "reload_monthly_cap")
_CAPS = {"daily_spend_cap": day_window, "monthly_spend_cap": month_window}
_UPDATE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class KeyAdmin:
    keys: KeyStore
    changes: KeyChanges
    entries: Entries
    # The deployment's catalog, to check a key's models against; None where it is not at hand
    # (the command line on a keys table): the models are then taken as given.
    catalog: Catalog | None
    clock: Callable[[], float] = field(default=time.time)
    local_webhooks: bool = False  # http webhooks to this machine: the local stack only
    alerts: BalanceAlerts | None = None

    def create(
        self,
        actor: str,
        name: str,
        policy: KeyPolicy,
        *,
        balance: int = 0,
        source: TopUpSource = "admin",
        account_id: str | None = None,
    ) -> IssuedKey:
        """A new account's first key, or (``account_id``) one more key of an account: that
        one has its own limits and budget, and spends the account's balance."""
        if account_id is not None:
            _check_for_account(account_id, policy, balance)
        self._check_models(policy.models)
        check_webhook_url(policy.webhook_url, allow_local=self.local_webhooks)
        check_reload_policy({name: getattr(policy, name) for name in RELOAD_FIELDS})
        now = int(self.clock())
        new = issue_key(
            self.keys,
            name,
            policy,
            balance=balance,
            now=now,
            actor=actor,
            source=source,
            account_id=account_id,
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
        if account_of(key_id) != key_id:
            _refuse_account_fields(changes.keys())
        if "models" in changes:
            self._check_models(changes["models"])
        if changes.get("webhook_url") is not None:
            check_webhook_url(changes["webhook_url"], allow_local=self.local_webhooks)
        if changes.keys() & set(RELOAD_FIELDS):
            current = self.show(key_id).policy
            check_reload_policy(
                {n: changes[n] if n in changes else getattr(current, n) for n in RELOAD_FIELDS}
            )
        audit = self._audit(key_id, "updated", actor, changes)
        if not _CAPS.keys() & changes.keys():
            return self.changes.update(key_id, changes, audit)
        for _ in range(_UPDATE_ATTEMPTS):
            windows = moved_windows(self.show(key_id), changes, self.clock())
            try:
                return self.changes.update(key_id, changes, audit, windows=windows)
            except KeyChanged:
                continue  # spent from meanwhile: read the window again
        raise StorageError("The key is busy; try the change again.", should_retry=True)

    def move(
        self,
        kind: Literal["topup", "adjustment"],
        actor: str,
        key_id: str,
        amount: int,
        reason: str | None,
        *,
        source: TopUpSource = "admin",
        idempotency_key: str | None = None,
    ) -> ApiKeyRecord:
        """A top-up or an adjustment of ``amount`` micro-units: a ledger entry by ``actor``.
        With ``idempotency_key``, a retry changes nothing again; another movement under it is
        ``IdempotencyKeyReused``, however late."""
        at = int(self.clock() * 1000)
        reference, fingerprint = movement_once(idempotency_key, kind, amount, reason)
        entry = operator_entry(
            kind, key_id, amount, reason, actor=actor, at=at, source=source, reference=reference
        )
        try:
            record = self.entries.post(entry, once=fingerprint)
        except AlreadyPosted as posted:
            if posted.fingerprint == fingerprint:
                return self.show(key_id)
            raise IdempotencyKeyReused() from None
        alert_if_crossed(self.alerts, record, -amount)
        return record

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
        self, ledger: ChargeStore, *, start_ms: int, end_ms: int
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


# What belongs to an account, not to each of its keys.
ACCOUNT_FIELDS = ("low_balance_threshold", "webhook_url", *RELOAD_FIELDS)


def _check_for_account(account_id: str, policy: KeyPolicy, balance: int) -> None:
    if not ACCOUNT_ID.fullmatch(account_id):
        raise InvalidRequest(f"No account with id {account_id}.", param="account_id")
    if balance:
        raise InvalidRequest(
            "A key of an account spends the account's balance: top up the account instead.",
            param="balance",
        )
    _refuse_account_fields(name for name in ACCOUNT_FIELDS if getattr(policy, name) is not None)


def _refuse_account_fields(names: Iterable[str]) -> None:
    for name in names:
        if name in ACCOUNT_FIELDS:
            raise InvalidRequest(
                f"{name} is the account's, not a key's: set it on the account.",
                param=name,
            )


def moved_windows(
    record: ApiKeyRecord, changes: Mapping[str, Any], now: float
) -> dict[str, tuple[int, int] | None]:
    """A new cap applies to what the current window has spent already: its window moves by
    the difference between the caps (one not begun yet begins at the new cap)."""
    moved: dict[str, tuple[int, int] | None] = {}
    for name, window_of in _CAPS.items():
        window = window_of(now)
        if name not in changes:
            continue
        if window not in record.spend_left:
            moved[window] = None
            continue
        old = getattr(record.policy, name)
        new = changes[name]
        left = record.spend_left[window]
        moved[window] = (left, left + (NO_CAP if new is None else new) - (old or NO_CAP))
    return moved
