"""Auto-reload's marks on a key and its queue (``money/stored/reloads.py``)."""

from typing import Protocol

from handler.core.records.keys import ApiKeyRecord
from handler.core.records.payments import Reload


class ReloadClaims(Protocol):
    def claim(self, record: ApiKeyRecord, now: float) -> Reload | None:
        """Set the key's reload mark and count the reload in its month, if it has no mark
        and the month's cap allows it; the reload to queue, else None."""
        ...

    def queue(self, reload: Reload) -> None: ...

    def give_back(self, reload: Reload, *, unmark: bool = False) -> None:
        """A reload that charged nothing: out of the month's total, once (the mark stays
        unless ``unmark``: the reload never started)."""
        ...
