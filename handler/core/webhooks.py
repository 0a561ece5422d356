"""Webhook signatures, Standard Webhooks style.

Each key has its own signing secret, derived from the deployment's master secret, so one
customer can verify its webhooks without being able to forge another's. A delivery carries
``webhook-id`` (the same on every retry: receivers dedupe on it), ``webhook-timestamp`` (unix
seconds: receivers refuse old ones) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">``.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from handler.core.errors import InvalidRequest

# The addresses a host name stands for (empty: it does not resolve). An adapter's: DNS.
Resolver = Callable[[str, int], Sequence[str]]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
MAX_URL_CHARS = 2048
# Where a local stack's webhook may go over plain HTTP: the machine itself.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def signing_secret(master: str, key_id: str) -> str:
    """The key's ``whsec_`` secret, as ``GET /v1/webhooks/secret`` hands it out."""
    derived = hmac.new(master.encode(), f"webhook:{key_id}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(derived).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """One webhook to deliver, as its queue carries it: signed at each attempt."""

    url: str
    key_id: str
    message_id: str  # the webhook-id: the same on every attempt, receivers dedupe on it
    body: str

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: str) -> "WebhookMessage":
        return cls(**json.loads(text))


def check_webhook_url(
    url: str | None, *, allow_local: bool = False, resolve: Resolver | None = None
) -> str | None:
    """The URL if a webhook may be sent there: https to a host that resolves (``resolve``)
    to public addresses only; http to this machine only where ``allow_local`` (the local
    stack: in Lambda, localhost is the runtime's own API)."""
    if url is None:
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if len(url) > MAX_URL_CHARS or not parts.hostname or port == -1:
        raise InvalidRequest("webhook_url must be an absolute https URL.", param="webhook_url")
    local = allow_local and parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS
    if parts.scheme != "https" and not local:
        raise InvalidRequest("webhook_url must be an https URL.", param="webhook_url")
    if allow_local or resolve is None:
        return url
    addresses = (
        [parts.hostname] if _is_address(parts.hostname) else resolve(parts.hostname, port or 443)
    )
    if not addresses:
        raise InvalidRequest(
            f"webhook_url's host {parts.hostname} does not resolve.", param="webhook_url"
        )
    refused = non_public(addresses)
    if refused is not None:
        raise InvalidRequest(
            f"webhook_url's host {parts.hostname} is, or resolves to, {refused}: not a public "
            "address. Webhooks go to the internet only.",
            param="webhook_url",
        )
    return url


def non_public(addresses: Iterable[str]) -> str | None:
    """The first address a webhook must not reach, or None if all are public: loopback,
    private, link-local (cloud metadata among them), shared, multicast, unspecified,
    reserved or documentation addresses, IPv4 and IPv6, IPv4-mapped ones as their IPv4."""
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # no zone id
        except ValueError:
            return text
        if not address.is_global or address.is_multicast:
            return text
        if isinstance(address, ipaddress.IPv6Address) and any(
            embedded is not None and (not embedded.is_global or embedded.is_multicast)
            for embedded in _embedded_ipv4(address)
        ):
            return text
    return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address | None]:
    """The IPv4 addresses an IPv6 one stands for: mapped, 6to4, Teredo, NAT64."""
    teredo = address.teredo[1] if address.teredo else None
    nat64 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
    return [address.ipv4_mapped, address.sixtofour, teredo, nat64]
