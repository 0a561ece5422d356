"""Images as a backend makes them: finished, or a preview of one still being made."""

from dataclasses import dataclass

from handler.core.model_card import OutputFormat


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    output_format: OutputFormat
    seed: int | None  # None: no seed reproduces it (the backend takes none)
    width: int
    height: int
    # The seconds of GPU its provider billed for it, where the provider says (Replicate's
    # predict time): what a placement priced per second costs.
    billed_seconds: float | None = None
    # The provider's own bytes, where ``data`` encoded them again (another format, size or
    # compression) and they may carry its C2PA manifest: the image's signature keeps that
    # manifest as an ingredient (``handler/provenance``). None: ``data`` is what it sent.
    original: bytes | None = None


@dataclass(frozen=True, slots=True)
class PartialImage:
    """A preview of one image of a request, before it is done (streaming)."""

    data: bytes
    image_index: int  # which of the request's images
    partial_index: int  # 0-based, per image
