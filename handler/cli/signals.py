"""How `imagegate dev` stops: Ctrl-C (SIGINT) and SIGTERM, the same clean way."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) and SIGTERM set the event, the same clean way, from here on: installed
    before the stack says it is ready, so a signal sent on hearing that is never missed."""
    stop = threading.Event()
    handlers = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for signum, previous in handlers.items():
            signal.signal(signum, previous)


def wait_for(stop: threading.Event) -> None:
    while not stop.wait(timeout=1):  # a timed wait lets the signal handlers run
        pass
