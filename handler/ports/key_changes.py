"""Operators' changes to keys, each with its audit entry (``money/stored/key_changes.py``)."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from handler.core.records.keys import ApiKeyRecord, AuditEntry, KeyPage


class KeyChanges(Protocol):
    """The key writes only operators make, each with its audit entry in the same transaction."""

    def update(
        self,
        key_id: str,
        changes: Mapping[str, Any],
        audit: AuditEntry,
        *,
        windows: Mapping[str, tuple[int, int] | None] | None = None,
    ) -> ApiKeyRecord:
        """Set each of ``changes`` (policy attributes; None lifts a limit), and each of
        ``windows`` (spend window: (left as read, left from now on); None: one not begun,
        which must still not be), if still as read (``KeyChanged`` if not)."""
        ...

    def revoke(self, audit: AuditEntry) -> ApiKeyRecord: ...

    def rotate(self, new_secret_hash: str, previous_until: int, audit: AuditEntry) -> ApiKeyRecord:
        """The new secret in force; the old one still works until ``previous_until``."""
        ...

    def page(self, *, limit: int, after: str | None) -> KeyPage: ...

    def audit(self, key_id: str, *, limit: int) -> Sequence[AuditEntry]:
        """The key's audit entries, newest first."""
        ...
