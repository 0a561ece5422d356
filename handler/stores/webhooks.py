"""Webhook delivery: one signed POST per attempt, to an address checked to be public, within
one deadline for the whole attempt.

The receiver's host is resolved here and every address checked (``non_public``) before any
connection; the connection then goes to the address that was checked, not to whatever a
second lookup would say (a DNS answer that changes between check and use is the classic way
around such checks). The URL keeps the host name, so ``Host``, SNI and the certificate are
the receiver's. Every read and write is bounded by what is left of the attempt's deadline,
so a receiver that trickles its answer a byte at a time holds this attempt for the deadline
and no longer. Retries are the webhook queue's: a failed attempt raises, and the message
shows again after the queue's visibility timeout.
"""

import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore

from handler.core.webhooks import (
    Resolver,
    WebhookMessage,
    non_public,
    signature_headers,
    signing_secret,
)
from handler.observability import logger

ATTEMPT_SECONDS = 5.0


class WebhookFailed(Exception):
    """The attempt did not get a 2xx: the queue tries again later."""


class WebhookRefused(Exception):
    """The URL leads to an address that is not public: no attempt is made, now or later."""


def resolve(host: str, port: int) -> Sequence[str]:
    """The host's addresses (an address literal is its own); empty if it does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class WebhookSender:
    def __init__(
        self,
        master_secret: Callable[[], str],
        *,
        allow_local: bool = False,
        resolver: Resolver = resolve,
        attempt_seconds: float = ATTEMPT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self._master_secret = master_secret
        self._allow_local = allow_local  # the local stack: receivers on this machine
        self._resolve = resolver
        self._seconds = attempt_seconds
        self._ssl_context = ssl_context or ssl.create_default_context()

    def deliver(self, message: WebhookMessage) -> None:
        """One attempt: WebhookFailed if no address of the host took it with a 2xx (the
        queue tries again later), WebhookRefused if it must never be sent."""
        parts = urlsplit(message.url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self._resolve(host, port)
        if not addresses:  # perhaps for now only: DNS may answer the next attempt
            raise WebhookFailed(f"{host} does not resolve")
        if not self._allow_local and non_public(addresses) is not None:
            raise WebhookRefused(f"{host} resolves to an address that is not public")
        body = message.body.encode()
        secret = signing_secret(self._master_secret(), message.key_id)
        signed = signature_headers(secret, message.message_id, int(time.time()), body)
        headers = [*signed.items(), ("content-type", "application/json")]
        deadline = time.monotonic() + self._seconds
        failures = []
        for address in addresses:  # each one checked above; the first that answers
            try:
                status = self._post(message.url, address, deadline, headers, body)
            except WebhookFailed as failed:
                failures.append(str(failed))
                continue
            if not 200 <= status < 300:
                raise WebhookFailed(f"HTTP {status}")
            logger.info("webhook delivered", message_id=message.message_id)
            return
        raise WebhookFailed("; ".join(failures))

    def _post(
        self,
        url: str,
        address: str,
        deadline: float,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> int:
        """The status of one POST to ``address``; the answer's body is not read."""
        with httpcore.ConnectionPool(
            ssl_context=self._ssl_context,
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
                    extensions={"timeout": dict.fromkeys(_TIMEOUTS, self._seconds)},
                ) as response:
                    return response.status
            except httpcore.TimeoutException as exc:
                raise WebhookFailed(f"no answer within {self._seconds:.0f} s") from exc
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
