"""The app as the buffered API function runs it: through Mangum, each invocation on an event
loop of its own.

Mangum 0.22 runs the app on the thread's current loop, and where none is set (Lambda's
runtime sets none) has ``asyncio.get_event_loop()`` make one, in its constructor and on each
invocation: deprecated from Python 3.12, an error from 3.14. The loop is made here instead,
one per invocation and closed after it: none, with its epoll and socket pair, is kept in a
SnapStart snapshot or shared between invocations.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mangum import Mangum
from mangum.types import ASGI, LambdaContext


class LambdaEntry:
    def __init__(self, app: ASGI):
        with own_event_loop():  # Mangum's constructor looks for the current loop too
            # lifespan="off": Mangum would otherwise run the app's lifespan on every invocation.
            self.mangum = Mangum(app, lifespan="off")

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with own_event_loop():
            return self.mangum(event, context)


@contextmanager
def own_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A new loop, the thread's current one until the block ends; then closed, and the thread
    left with none."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
