"""Placements' circuits, shared by every instance (``stores/circuits.py``): a placement that
keeps failing is left alone for a while by all of them."""

from collections.abc import Sequence
from typing import Protocol


class Circuits(Protocol):
    def open_until(self, circuits: Sequence[str]) -> dict[str, float]:
        """Until when (unix seconds) each of ``circuits`` is open; 0 where it is closed. Read
        at most every few seconds per instance: a circuit another instance opened is seen
        that late."""
        ...

    def failed(self, circuit: str) -> None:
        """Count a failure of the placement (throttled, unavailable): enough of them in a
        short window open its circuit, for every instance."""
        ...
