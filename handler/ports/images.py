"""Where generated images are kept and signed for (``stores/images.py``)."""

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
