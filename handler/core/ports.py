"""What the core needs from the outside world; ``stores/`` and ``backends/`` implement it."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from handler.core.catalog import CatalogModel, OutputFormat
from handler.core.deadline import Deadline
from handler.core.image_input import NO_INPUTS, ImageInputs

KeyStatus = Literal["active", "revoked"]


@dataclass(frozen=True, slots=True)
class GenerationJob:
    """One validated request, with every default resolved, as a backend receives it."""

    request_id: str
    model: CatalogModel
    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    seeds: tuple[int, ...]
    steps: int | None
    guidance_scale: float | None
    output_format: OutputFormat
    output_compression: int
    background: str
    quality: str
    inputs: ImageInputs = NO_INPUTS
    strength: float | None = None  # set when there are input images

    @property
    def n(self) -> int:
        return len(self.seeds)

    def diffusion_options(self) -> dict[str, str | int | float]:
        """The sampling settings the job sets, under diffusers' names, which most models'
        inputs share."""
        options: dict[str, str | int | float] = {}
        if self.negative_prompt:
            options["negative_prompt"] = self.negative_prompt
        if self.steps is not None:
            options["num_inference_steps"] = self.steps
        if self.guidance_scale is not None:
            options["guidance_scale"] = self.guidance_scale
        return options


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    output_format: OutputFormat
    seed: int | None  # None: no seed reproduces it (the backend takes none)
    width: int
    height: int


class InferenceBackend(Protocol):
    def generate(self, job: GenerationJob, deadline: Deadline) -> list[GeneratedImage]:
        """Render up to ``job.n`` images before ``deadline``.

        Fewer images than asked is a partial delivery (a safety filter dropped some, say);
        none at all is an error: ``ContentFiltered``, ``BackendError`` or one of its kinds.
        Work still running at the deadline is cancelled and ``BackendTimeout`` raised.
        """
        ...


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    name: str
    secret_hash: str
    status: KeyStatus
    created_at: int
    revoked_at: int | None = None

    def __repr__(self) -> str:  # keep the hash out of any log line that prints a record
        return f"ApiKeyRecord(key_id={self.key_id!r}, name={self.name!r}, status={self.status!r})"


class KeyStore(Protocol):
    def get(self, key_id: str) -> ApiKeyRecord | None: ...

    def create(self, record: ApiKeyRecord) -> None: ...

    def list(self) -> list[ApiKeyRecord]: ...

    def revoke(self, key_id: str, *, at: int) -> ApiKeyRecord: ...


class ImageStore(Protocol):
    def put_images(self, prefix: str, images: Sequence[GeneratedImage]) -> list[str]:
        """Store the images under ``prefix``; return their object keys in order."""
        ...

    def presign(self, key: str) -> str:
        """A GET URL for ``key`` that expires after the configured TTL."""
        ...
