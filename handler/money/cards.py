"""Card top-ups: a key holder asks for a checkout, pays on the processor's page, and the
processor's signed events credit the key (``money/payments.py`` says what each event does)."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from handler.core.amounts import format_micros
from handler.core.errors import InvalidRequest, StorageError
from handler.core.outcomes import NoSuchKey, PaymentChanged
from handler.core.records.keys import ApiKeyRecord
from handler.core.records.ledger import LedgerEntry
from handler.core.records.payments import CheckoutOrder, CheckoutSession, Paid, Payment, Reload
from handler.money.alerts import alert_if_crossed
from handler.money.payments import apply
from handler.money.reloads import charge
from handler.observability import count, logger
from handler.ports.balance_alerts import BalanceAlerts
from handler.ports.card_processor import CardProcessor
from handler.ports.keys import KeyStore
from handler.ports.payments import PaymentStore
from handler.ports.reload_claims import ReloadClaims

_RECORD_ATTEMPTS = 5  # concurrent deliveries of one payment's events: each re-reads and retries
# Currencies whose smallest unit is not a hundredth (Stripe's lists).
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_THREE_DECIMAL = frozenset(("bhd", "jod", "kwd", "omr", "tnd"))


def minor_unit(currency: str) -> int:
    """Micro-units in one of the currency's smallest unit (a cent: 10,000)."""
    if currency in _ZERO_DECIMAL:
        return 1_000_000
    return 1_000 if currency in _THREE_DECIMAL else 10_000


@dataclass(frozen=True, slots=True)
class CardTerms:
    """What this deployment takes: its currency (ISO 4217, lower case) and the bounds of one
    top-up, in micro-units."""

    currency: str
    minimum: int
    maximum: int
    minor_unit: int  # micro-units in the currency's smallest unit (a cent: 10,000)

    @classmethod
    def of(cls, currency: str, minimum: int, maximum: int) -> "CardTerms":
        return cls(currency, minimum, maximum, minor_unit(currency))


@dataclass(frozen=True, slots=True)
class CardTopUps:
    processor: CardProcessor
    payments: PaymentStore
    terms: CardTerms
    clock: Callable[[], float] = field(default=time.time)
    keys: KeyStore | None = None  # with alerts: a reversal that takes a key low tells of it
    alerts: BalanceAlerts | None = None
    claims: ReloadClaims | None = None  # auto-reload's, for a queued reload's charge

    def reload(self, reload: Reload) -> None:
        """Charge a queued reload to the key's saved card (its event credits the key)."""
        if self.keys is None or self.claims is None:
            raise StorageError("This deployment runs no reloads.", should_retry=False)
        charge(self.processor, self.claims, self.keys.get(reload.key_id), reload)

    def checkout(
        self,
        key: ApiKeyRecord,
        amount: int,
        success_url: str,
        cancel_url: str,
        *,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        terms, account = self.terms, key.funds  # the account's money the card tops up
        if not terms.minimum <= amount <= terms.maximum:
            raise InvalidRequest(
                f"A top-up is {format_micros(terms.minimum)} to {format_micros(terms.maximum)} "
                f"{terms.currency.upper()} ({terms.minimum} to {terms.maximum} micro-units).",
                param="amount",
            )
        if amount % terms.minor_unit:
            raise InvalidRequest(
                f"amount must be a whole number of the currency's smallest unit "
                f"(a multiple of {terms.minor_unit} micro-units).",
                param="amount",
            )
        order = CheckoutOrder(
            account.key_id,
            amount,
            success_url,
            cancel_url,
            account.stripe_customer,
            None if idempotency_key is None else f"{account.key_id}:{idempotency_key}",
            save_card=account.policy.reload_below is not None,
        )
        return self.processor.checkout(order)

    def receive(self, payload: bytes, signature: str | None) -> None:
        """Apply one signed event; an event seen before changes nothing."""
        event = self.processor.event(payload, signature)
        if event is None:
            return
        for _ in range(_RECORD_ATTEMPTS):
            payment = self.payments.get(event.payment_id)
            after, entries = apply(payment, event, at=int(self.clock() * 1000))
            if after == (payment or Payment(event.payment_id)):
                return  # seen before
            customer = event.customer if isinstance(event, Paid) else None
            try:
                self.payments.record(after, entries, customer=customer)
            except PaymentChanged:
                continue
            except NoSuchKey:  # not ours: acknowledged and logged (Stripe would resend it)
                logger.warning(
                    "card event for no key here", key_id=after.key_id, payment_id=after.payment_id
                )
                count("CardEventsRefused")
                return
            for entry in entries:
                logger.info(
                    "card payment entered",
                    key_id=entry.key_id,
                    kind=entry.kind,
                    amount=entry.amount,
                    payment_id=event.payment_id,
                )
                count("CardTopUps" if entry.kind == "topup" else "CardReversals")
            self._alert(entries)
            return
        raise StorageError("The payment is busy; deliver the event again.", should_retry=True)

    def _alert(self, entries: list[LedgerEntry]) -> None:
        taken = -sum(entry.amount for entry in entries)
        if taken <= 0 or self.keys is None or not entries:
            return
        record = self.keys.get(entries[0].key_id)
        if record is not None:
            alert_if_crossed(self.alerts, record, taken)
