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

import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from handler.core.webhooks import (
    Resolver,
    WebhookMessage,
    non_public,
    signature_headers,
    signing_secret,
)
from handler.observability import logger
from handler.stores.resolver import resolve
from handler.stores.webhook_errors import WebhookFailed, WebhookRefused

ATTEMPT_SECONDS = 5.0


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
        from handler.stores.webhook_transport import post  # httpcore: only where webhooks go

        deadline = time.monotonic() + self._seconds
        failures = []
        for address in addresses:  # each one checked above; the first that answers
            try:
                status = post(
                    message.url,
                    address,
                    deadline,
                    headers,
                    body,
                    ssl_context=self._ssl_context,
                    seconds=self._seconds,
                )
            except WebhookFailed as failed:
                failures.append(str(failed))
                continue
            if not 200 <= status < 300:
                raise WebhookFailed(f"HTTP {status}")
            logger.info("webhook delivered", message_id=message.message_id)
            return
        raise WebhookFailed("; ".join(failures))
