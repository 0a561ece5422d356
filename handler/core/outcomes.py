"""Outcomes a caller handles, not errors a client sees: a conditional write refused, a record
that changed under us, a card declined."""

from handler.core.errors import Outcome
from handler.core.records.keys import ApiKeyRecord


class ReservationRefused(Outcome):
    """The conditional write did not pass; ``record`` is the key as it stood (None: no key)."""

    def __init__(self, record: ApiKeyRecord | None):
        super().__init__("reservation refused")
        self.record = record


class ReservationClosed(Outcome):
    """Settled already (by the request itself, or by reconciliation)."""


class KeyChanged(Outcome):
    """A spend window moved between the key's reading and the update: read it again."""


class AlreadyPosted(Outcome):
    """An entry of this reference is in the key's ledger already (a retried movement);
    ``fingerprint``: the request it was posted for, as kept beside it."""

    def __init__(self, reference: str, fingerprint: str | None):
        super().__init__(reference)
        self.fingerprint = fingerprint


class PaymentChanged(Outcome):
    """The payment's record changed since it was read: read it again."""


class NoSuchKey(Outcome):
    """The event's entries name a key this deployment does not have (another deployment's on
    the same Stripe account, say)."""


class CardDeclined(Outcome):
    """The saved card was refused (or there is none): nothing was charged."""


class ResultRecorded(Outcome):
    """The line has its result already (another attempt recorded it)."""


class AccountRefused(Outcome):
    """An account's making was refused: ``failed`` names the writes whose conditions did not
    hold (``account``: its id is taken; ``member``: its first member has an account)."""

    def __init__(self, failed: frozenset[str]):
        super().__init__(", ".join(sorted(failed)))
        self.failed = failed
