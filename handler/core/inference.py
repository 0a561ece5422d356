"""What the core needs of a backend that makes images (``backends/`` implements it)."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from handler.core.catalog import CatalogModel, OutputFormat
from handler.core.deadline import Deadline
from handler.core.errors import BackendNotConfigured
from handler.core.spec import GenerationSpec


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    output_format: OutputFormat
    seed: int | None  # None: no seed reproduces it (the backend takes none)
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PartialImage:
    """A preview of one image of a request, before it is done (streaming)."""

    data: bytes
    image_index: int  # which of the request's images
    partial_index: int  # 0-based, per image


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
