"""API keys as stored (``money/stored/keys.py``)."""

from typing import Protocol

from handler.core.records.keys import ApiKeyRecord, TopUpSource


class KeyStore(Protocol):
    def get(self, key_id: str) -> ApiKeyRecord | None: ...

    def create(self, record: ApiKeyRecord, *, actor: str, source: TopUpSource) -> None:
        """Store a new key; its balance, if any, is its ledger's opening top-up."""
        ...

    def list(self) -> list[ApiKeyRecord]: ...
