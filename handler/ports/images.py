"""Where generated images and asynchronous invocations' bodies are kept (``stores/``)."""

from collections.abc import Sequence
from typing import Protocol

from handler.core.inference import GeneratedImage


class ImageStore(Protocol):
    def put_images(self, prefix: str, images: Sequence[GeneratedImage]) -> list[str]:
        """Store the images under ``prefix``; return their object keys in order."""
        ...

    def get(self, key: str) -> bytes: ...

    def presign(self, key: str) -> str:
        """A GET URL for ``key`` that expires after the configured TTL."""
        ...


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
