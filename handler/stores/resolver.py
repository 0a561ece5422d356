"""A webhook receiver's host looked up: what a submission is checked against (``core/webhooks``)
and what a delivery connects to (``stores/webhooks``). Only the standard library: the API checks
targets without loading the sender's HTTP client."""

import socket
from collections.abc import Sequence


def resolve(host: str, port: int) -> Sequence[str]:
    """The host's addresses (an address literal is its own); empty if it does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))
