"""Who hears of finished batches and jobs (``stores/notifier.py``)."""

from collections.abc import Mapping
from typing import Any, Protocol

from handler.core.records.work import Work


class Notifier(Protocol):
    def finished(self, batch: Work, event: Mapping[str, Any], webhook: Mapping[str, Any]) -> None:
        """Announce a finished batch or job: ``event`` on the event bus (never images or
        URLs: the bus's readers are not the key's holder), ``webhook`` to its webhook."""
        ...
