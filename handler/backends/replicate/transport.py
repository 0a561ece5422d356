"""The HTTP transport under the replicate client: each call bounded by the deadline of the
request its thread works for, and throttled answers raised as ``Deferred``."""

from contextvars import ContextVar

import httpx

from handler.core.deadline import Deadline
from handler.core.errors import Outcome

CANCEL_SECONDS = 2.0  # a cancel's allowance, even past the deadline: it stops the GPU


class Deferred(Outcome):
    """Replicate asked to be called again later (429 or 503; 504 too on a GET)."""

    def __init__(self, status: int, retry_after: int):
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


# The deadline of the request the current thread works for; the transport bounds each call.
_deadline: ContextVar[Deadline | None] = ContextVar("replicate_deadline", default=None)


class DeadlineTransport(httpx.BaseTransport):
    """What sits under the replicate client's own transport.

    That client wraps every transport in a retrying one that sleeps up to a minute between
    GETs, following Retry-After, blind to our deadline. Beneath it, this transport
    - raises ``Deferred`` (with Retry-After) instead of returning a throttled answer, so the
      adapter decides: poll again within the deadline, or tell the client when to retry;
    - bounds every poll by what is left of the deadline, and gives a cancel a fixed allowance
      even when the deadline has passed (a cancel is what stops the GPU).
    """

    def __init__(self, inner: httpx.BaseTransport | None = None):
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = _deadline.get()
        if request.url.path.endswith("/cancel"):
            request.extensions["timeout"] = _timeout(CANCEL_SECONDS)
        elif request.method == "GET" and deadline is not None:
            request.extensions["timeout"] = _timeout(max(0.5, deadline.remaining()))
        response = self._inner.handle_request(request)
        deferred = (429, 503, 504) if request.method == "GET" else (429, 503)
        if response.status_code in deferred:
            header = response.headers.get("retry-after", "").strip()
            response.close()
            raise Deferred(response.status_code, int(header) if header.isdigit() else 1)
        return response

    def close(self) -> None:
        self._inner.close()


def bound_to(deadline: Deadline) -> None:
    """Bound this thread's calls by ``deadline`` (each of its polls gets what is left)."""
    _deadline.set(deadline)


def _timeout(seconds: float) -> dict[str, float]:
    return {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
