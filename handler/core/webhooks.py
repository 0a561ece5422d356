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
from urllib.parse import urlsplit

from handler.core.errors import InvalidRequest

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


def check_webhook_url(url: str | None, *, allow_local: bool = False) -> str | None:
    """The URL if a webhook may be sent there: https; http to this machine only where
    ``allow_local`` (the local stack: in Lambda, localhost is the runtime's own API)."""
    if url is None:
        return None
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or not parts.hostname:
        raise InvalidRequest("webhook_url must be an absolute https URL.", param="webhook_url")
    local = allow_local and parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS
    if parts.scheme != "https" and not local:
        raise InvalidRequest("webhook_url must be an https URL.", param="webhook_url")
    return url
