"""A generation's images, from the backend to the answer: kept in the bucket as
``StoredImages`` (object keys), then answered by presigned URL or inline, within the
response limit."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handler.core.errors import PayloadTooLarge, StorageError
from handler.core.inference import GeneratedImage
from handler.core.schemas import (
    ImageData,
    ImagesResponse,
    ImagesUsage,
    StoredImage,
    StoredImages,
    object_prefix,
)
from handler.ports.images import ImageStore

if TYPE_CHECKING:  # a type only: the spec's rules (and image decoding) are not loaded here
    from handler.core.spec import GenerationSpec

# JSON around the inline images (ids, seeds, usage): generous, so the check errs on refusing.
_ENVELOPE_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Delivery:
    images: ImageStore
    max_response_bytes: int

    def deliver(
        self,
        spec: "GenerationSpec",
        created: int,
        generated: Sequence[GeneratedImage],
        response_format: str | None,
    ) -> ImagesResponse:
        """The images as the client asked for them now: base64 at once (never stored), or
        kept and answered by presigned URL."""
        if response_format == "b64_json":
            return self.inline(spec, created, generated)
        return self.answer(self.keep(spec, created, generated), response_format)

    def keep(
        self,
        spec: "GenerationSpec",
        created: int,
        generated: Sequence[GeneratedImage],
        prefix: str | None = None,
    ) -> StoredImages:
        """The images stored under ``prefix`` (by default, the request's own, by day)."""
        keys = self._store(generated, prefix or object_prefix(created, spec.request_id))
        data = [
            StoredImage(s3_key=key, seed=image.seed)
            for key, image in zip(keys, generated, strict=True)
        ]
        return StoredImages.model_validate({**_described(spec, created, len(data)), "data": data})

    def inline(
        self, spec: "GenerationSpec", created: int, generated: Sequence[GeneratedImage]
    ) -> ImagesResponse:
        """The images as base64 at once, never stored."""
        data = self._inline([(image.data, image.seed) for image in generated])
        return ImagesResponse.model_validate({**_described(spec, created, len(data)), "data": data})

    def answer(self, kept: StoredImages, response_format: str | None) -> ImagesResponse:
        """Kept images as the client asked for them: presigned URLs afresh, or base64."""
        keys = [item.s3_key for item in kept.data]
        if response_format == "b64_json":
            stored = [self.images.get(key) for key in keys]
            data = self._inline(
                [(blob, item.seed) for blob, item in zip(stored, kept.data, strict=True)]
            )
        else:
            data = [
                ImageData(url=url, seed=item.seed)
                for url, item in zip(self._presigned(keys), kept.data, strict=True)
            ]
        return ImagesResponse.model_validate({**dict(kept), "data": data})

    def _inline(self, images: Sequence[tuple[bytes, int | None]]) -> list[ImageData]:
        """``(bytes, seed)`` pairs as base64, once they are known to fit the response."""
        self.check_inline_size([len(data) for data, _ in images])
        return [
            ImageData(b64_json=base64.b64encode(data).decode("ascii"), seed=seed)
            for data, seed in images
        ]

    def _presigned(self, keys: Sequence[str]) -> list[str]:
        try:
            return [self.images.presign(key) for key in keys]
        except StorageError as exc:
            raise StorageError(
                "The images were generated but their URLs could not be signed.",
                should_retry=False,
            ) from exc

    def _store(self, generated: Sequence[GeneratedImage], prefix: str) -> list[str]:
        try:
            return self.images.put_images(prefix, generated)
        except StorageError as exc:
            raise StorageError(
                "The images were generated but could not be stored.", should_retry=False
            ) from exc

    def check_inline_size(self, sizes: Sequence[int]) -> None:
        # base64 is 4 bytes per 3; refuse before building a body Lambda could not return.
        inline_bytes = sum(4 * ((size + 2) // 3) for size in sizes)
        if inline_bytes + _ENVELOPE_BYTES > self.max_response_bytes:
            raise PayloadTooLarge(
                f"The {len(sizes)} image(s) come to {inline_bytes / 1e6:.1f} MB as base64, "
                f"over the {self.max_response_bytes / 1e6:.1f} MB response limit. Ask for "
                "response_format 'url', a smaller n or size, or output_format jpeg or webp.",
                param="response_format",
            )


def _described(spec: "GenerationSpec", created: int, images: int) -> dict[str, Any]:
    """What an answer says of the generation besides its images."""
    return {
        "id": spec.request_id,
        "created": created,
        "model": spec.model.id,
        "size": spec.size,
        "quality": spec.reported_quality,
        "background": spec.background,
        "output_format": spec.output_format,
        "usage": ImagesUsage(images=images),
    }
