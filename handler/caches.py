"""Forgetting the process's cached objects: what the tests and the local stack do after they set
the environment, and what a copy restored from a SnapStart snapshot does with its clients."""

import sys
from collections.abc import Collection


def reset(*, keep: Collection[object] = ()) -> None:
    """Forget every cached object: every cache of every imported module of the package but
    those in ``keep``; none is left out."""
    for name, module in list(sys.modules.items()):
        if name != "handler" and not name.startswith("handler."):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name and value not in keep:
                clear()
