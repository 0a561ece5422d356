"""What an account's item holds beside a key's, and the entry its opening balance makes
(``money/stored/keys.py`` for an account's first key, ``accounts.py`` for one signed up for)."""

from handler.core.records.keys import KeyPolicy, TopUpSource
from handler.core.records.ledger import LedgerEntry

# The account's reload policy, as its item's attributes are named.
RELOAD_ATTRIBUTES = ("reload_below", "reload_amount", "reload_monthly_cap")


def account_attributes(balance: int, policy: KeyPolicy) -> dict[str, object]:
    """What an account's item holds besides a key's: its money, alerts and reloads."""
    return {
        "balance": balance,
        "reservations": {},
        "ledgered": True,  # its ledger begins with it (money/stored/audit.py)
        "low_balance": policy.low_balance_threshold,
        "webhook_url": policy.webhook_url,
        **{name: getattr(policy, name) for name in RELOAD_ATTRIBUTES},
    }


def opening_entry(
    account_id: str, balance: int, created_at: int, actor: str, source: TopUpSource
) -> LedgerEntry:
    """A new account's balance, as its ledger's first top-up."""
    return LedgerEntry(
        key_id=account_id,
        kind="topup",
        amount=balance,
        at=created_at * 1000,
        reference="opening",
        actor=actor,
        source=source,
    )
