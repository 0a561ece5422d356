"""The HTTP of a webhook attempt (httpcore): one connection to the address that was checked,
every read and write bounded by what is left of the attempt's deadline. Imported when a
webhook is sent: the functions that never send one never load it."""

import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore

from handler.stores.webhook_errors import WebhookFailed


def post(
    url: str,
    address: str,
    deadline: float,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    ssl_context: ssl.SSLContext,
    seconds: float,
) -> int:
    """The status of one POST to ``address``; the answer's body is not read."""
    with httpcore.ConnectionPool(
        ssl_context=ssl_context,
        network_backend=_PinnedBackend(address, deadline),
        retries=0,
        max_connections=1,
    ) as pool:
        try:
            with pool.stream(
                "POST",
                url,
                headers=headers,
                content=body,
                extensions={"timeout": dict.fromkeys(_TIMEOUTS, seconds)},
            ) as response:
                return response.status
        except httpcore.TimeoutException as exc:
            raise WebhookFailed(f"no answer within {seconds:.0f} s") from exc
        except httpcore.NetworkError as exc:
            raise WebhookFailed(f"{address}: {type(exc).__name__}") from exc
        except httpcore.ProtocolError as exc:
            raise WebhookFailed(f"not HTTP: {exc}") from exc


_TIMEOUTS = ("connect", "read", "write", "pool")


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to one address, whatever host the URL names, and bounds each read and write
    by the attempt's deadline."""

    def __init__(self, address: str, deadline: float):
        self._address = address
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            self._address,
            port,
            timeout=_left(self._deadline, timeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float):
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout=_left(self._deadline, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout=_left(self._deadline, timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secured = self._inner.start_tls(
            ssl_context, server_hostname, timeout=_left(self._deadline, timeout)
        )
        return _DeadlineStream(secured, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _left(deadline: float, timeout: float | None) -> float:
    """What is left of the deadline, under ``timeout``; past it, a timeout at once."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the delivery's deadline passed")
    return left if timeout is None else min(timeout, left)
