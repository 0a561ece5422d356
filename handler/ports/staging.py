"""Where backends keep their asynchronous invocations' bodies (``stores/staging.py``)."""

from typing import Protocol


class AsyncStore(Protocol):
    """Where a backend's asynchronous invocations keep their bodies, tickets and results (an
    S3 prefix whose objects expire on their own)."""

    def put(self, name: str, body: bytes) -> str:
        """Store ``body`` under ``name`` (relative to the store's prefix); its s3:// URI."""
        ...

    def location(self, name: str) -> str:
        """The s3:// URI ``name`` has (or would have) in the store."""
        ...

    def read(self, location: str) -> bytes | None:
        """The object at an s3:// URI; None while it does not exist."""
        ...
