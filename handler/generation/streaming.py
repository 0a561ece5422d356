"""A generation answered as server-sent events (``stream: true``): OpenAI's partial images as
the backend makes them, then one completed event per image, paid for exactly as a buffered
``b64_json`` request.

The price is reserved before the first byte, so a refusal (a bad body, no balance) is an
ordinary HTTP error. Once the stream has begun, a failure is an ``error`` event, as OpenAI
sends it, and the reservation is refunded; a stream its client closes before the images are
made is refunded too. Images that were made are charged when they are made, before they are
sent: a client that goes away during the completed events has had what it paid for made.
"""

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from handler.core.deadline import Deadline
from handler.core.errors import ApiError, envelope
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.schemas import ImagesUsage
from handler.core.spec import GenerationSpec
from handler.generation.routing import Routed
from handler.money.charging import Reservation
from handler.money.paid import PaidGeneration
from handler.observability import logger

EventKind = Literal["image_generation", "image_edit"]
MEDIA_TYPE = "text/event-stream"


@dataclass
class ImageStream:
    """One streamed generation, its price reserved: ``events()`` runs it, once."""

    spec: GenerationSpec
    kind: EventKind
    backend: Routed
    paid: PaidGeneration
    reservation: Reservation
    deadline: Deadline
    clock: Callable[[], float] = field(default=time.time)

    def events(self) -> Iterator[bytes]:
        """The response body: one server-sent event at a time, as soon as it is known."""
        spec = self.spec
        images: list[GeneratedImage] = []
        try:
            with self.paid.paying(self.reservation, trail=self.backend.trail) as receipt:
                for progress in self._progress():
                    if isinstance(progress, PartialImage):
                        yield self._partial(progress)
                    else:
                        images = progress  # as delivered: checked, moderated
                receipt.delivered = len(images)
        except ApiError as exc:
            logger.warning("stream failed", request_id=spec.request_id, code=exc.code)
            yield _sse("error", {"type": "error", **envelope(exc)})
            return
        for index, image in enumerate(images):
            last = index == len(images) - 1
            yield self._completed(image, receipt.cost if last else None, receipt.remaining_balance)

    def _progress(self) -> Iterator[PartialImage | list[GeneratedImage]]:
        if self.spec.partial_images:
            yield from self.backend.stream(self.spec, self.deadline)
        else:
            yield self.backend.generate(self.spec, self.deadline)

    def _described(self, data: bytes) -> dict[str, Any]:
        spec = self.spec
        return {
            "b64_json": base64.b64encode(data).decode("ascii"),
            "created_at": int(self.clock()),
            "size": spec.size,
            "quality": spec.reported_quality,
            "background": spec.background,
            "output_format": spec.output_format,
        }

    def _partial(self, partial: PartialImage) -> bytes:
        kind = f"{self.kind}.partial_image"
        body = {"type": kind, **self._described(partial.data)}
        body.update(partial_image_index=partial.partial_index, image_index=partial.image_index)
        return _sse(kind, body)

    def _completed(self, image: GeneratedImage, cost: int | None, remaining: int) -> bytes:
        """One image; the last carries the request's cost and the balance it left."""
        kind = f"{self.kind}.completed"
        body = {"type": kind, **self._described(image.data)}
        body.update(
            usage=ImagesUsage(images=1).model_dump(),
            id=self.spec.request_id,
            model=self.spec.model.id,
            seed=image.seed,
        )
        if cost is not None:
            body.update(cost=cost, remaining_balance=remaining)
        return _sse(kind, body)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
