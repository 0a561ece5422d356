"""What generation needs to mark the images it delivers as made by AI (``handler/provenance``
implements it with C2PA)."""

from collections.abc import Sequence
from typing import Protocol

from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec


class Provenance(Protocol):
    def sign(self, spec: GenerationSpec, images: Sequence[GeneratedImage]) -> list[GeneratedImage]:
        """The images, each carrying a signed statement that ``spec.model`` made it on the
        placement it is bound to, for request ``spec.request_id``: the last change to their
        bytes before they are delivered. Raises ``ServiceError`` when they cannot be signed."""
        ...
