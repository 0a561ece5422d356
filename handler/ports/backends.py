"""What generation needs of a backend that makes images (``backends/`` implements it)."""

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import BackendNotConfigured
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.spec import GenerationSpec


@runtime_checkable
class StreamingBackend(Protocol):
    """A backend that can show its images while it makes them."""

    def stream(
        self, spec: GenerationSpec, deadline: Deadline
    ) -> Iterator[PartialImage | list[GeneratedImage]]:
        """Up to ``spec.partial_images`` previews of each image as they are made, then, last,
        the images as ``generate`` returns them."""
        ...


class InferenceBackend(Protocol):
    def unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        """Why this deployment cannot run ``model`` now (no token, no grant, an endpoint not
        in service), or None: ``GET /v1/models`` lists the models with none, and every
        route refuses the others with it before anything is charged."""
        ...

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        """Render up to ``spec.n`` images before ``deadline``.

        Fewer images than asked is a partial delivery (a safety filter dropped some, say);
        none at all is an error: ``ContentFiltered``, ``BackendError`` or one of its kinds.
        Work still running at the deadline is cancelled and ``BackendTimeout`` raised, or,
        where the service keeps it (asynchronous inference), ``WorkPending``: an attempt of
        the same ``spec.request_id`` later collects it.
        """
        ...
