"""Inference backends, each its own module, imported only when a served model needs it."""

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handler.ports.backends import InferenceBackend


class Backends(Mapping[str, "InferenceBackend"]):
    """The backends of ``names``, each made (its module imported) on first use."""

    def __init__(self, makers: Mapping[str, Callable[[], "InferenceBackend"]], names: set[str]):
        self._makers = {name: makers[name] for name in sorted(names)}
        self._made: dict[str, InferenceBackend] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> "InferenceBackend":
        with self._lock:
            if name not in self._made:
                self._made[name] = self._makers[name]()  # KeyError: not one of these
            return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)
