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


def check_webhook_url(url: str | None, *, allow_local: bool = False) -> str | None:
    """The URL if its form lets a webhook be sent there: an absolute https URL in plain
    ASCII (an IDNA host, a percent-encoded path); http to this machine only where
    ``allow_local`` (the local stack: in Lambda, localhost is the runtime's own API). Where
    it leads is ``check_webhook_host``'s to say."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:  # a bracket left open, a port that is not a number
        host = None
    plain = url.isascii() and url.isprintable() and " " not in url
    if len(url) > MAX_URL_CHARS or not host or not plain or parts.username is not None:
        raise InvalidRequest(
            "webhook_url must be an absolute https URL in ASCII, with no user or password "
            "(IDNA-encode the host, percent-encode the path).",
            param="webhook_url",
        )
    local = allow_local and parts.scheme == "http" and host in _LOCAL_HOSTS
    if parts.scheme != "https" and not local:
        raise InvalidRequest("webhook_url must be an https URL.", param="webhook_url")
    return url


def check_webhook_host(url: str, resolve: Resolver) -> None:
    """Refuse a webhook whose host is, or resolves to, any address that is not public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses = [host] if _is_address(host) else resolve(host, parts.port or 443)
    if not addresses:
        raise InvalidRequest(f"webhook_url's host {host} does not resolve.", param="webhook_url")
    if non_public(addresses) is not None:
        raise InvalidRequest(
            f"webhook_url's host {host} is, or resolves to, an address that is not public. "
            "Webhooks go to the internet only.",
            param="webhook_url",
        )


def non_public(addresses: Iterable[str]) -> str | None:
    """The first address a webhook must not reach, or None if all are public. IPv4: the
    global, non-multicast, non-reserved ones only (no loopback, private, link-local — cloud
    metadata among them —, shared, unspecified or documentation address). IPv6: global
    unicast (2000::/3) only, and not a 6to4 or Teredo address that embeds a non-public
    IPv4 one; mapped, compatible, NAT64 and other forms are outside 2000::/3."""
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # no zone id
        except ValueError:
            return text
        if isinstance(address, ipaddress.IPv6Address):
            embedded = [address.sixtofour, address.teredo[1] if address.teredo else None]
            # 6to4 is judged by the IPv4 address it embeds alone: Python's is_global counts
            # all of 2002::/16 as global before 3.13 and none of it from 3.13 on.
            is_global = address.sixtofour is not None or address.is_global
            if address not in _GLOBAL_UNICAST or not is_global:
                return text
            if any(ipv4 is not None and not _public_ipv4(ipv4) for ipv4 in embedded):
                return text
        elif not _public_ipv4(address):
            return text
    return None


_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _public_ipv4(address: ipaddress.IPv4Address) -> bool:
    return address.is_global and not (address.is_multicast or address.is_reserved)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
