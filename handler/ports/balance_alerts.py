"""Telling a key's holder its balance ran low (``money/stored/balance_alerts.py``)."""

from typing import Protocol

from handler.core.records.keys import ApiKeyRecord


class BalanceAlerts(Protocol):
    def balance_low(self, record: ApiKeyRecord) -> bool:
        """Mark the key alerted and tell of it, unless it was marked already: whether it
        was told now."""
        ...
