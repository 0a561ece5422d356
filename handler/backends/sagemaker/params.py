"""A catalog entry's ``backend_params`` for SageMaker, and how its seeds split into calls."""

from collections.abc import Sequence
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handler.backends.sagemaker.contracts import CONTRACTS, ContractName
from handler.core.spec import GenerationSpec


class SageMakerParams(BaseModel):
    """A catalog entry's ``backend_params`` for SageMaker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint_name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    contract: ContractName
    images_per_call: int = Field(default=1, ge=1, le=16)
    inference_component: str | None = None
    # How the endpoint was deployed: real-time answers within 60 s and 6 MB; an asynchronous
    # endpoint takes its requests through S3 and runs each for up to ``max_seconds``.
    invocation: Literal["realtime", "async"] = "realtime"
    max_seconds: int | None = Field(default=None, ge=1, le=3600)
    # The endpoint answers InvokeEndpointWithResponseStream with previews as it denoises (our
    # model server under TorchServe): a stream asking for partial images gets them.
    streaming: bool = False

    @model_validator(mode="after")
    def _async_options(self) -> Self:
        if self.invocation == "realtime" and self.max_seconds is not None:
            raise ValueError("max_seconds is for asynchronous endpoints only")
        if self.invocation == "async" and self.inference_component is not None:
            raise ValueError("asynchronous endpoints take no inference_component")
        if self.streaming and (self.invocation != "realtime" or self.contract != "imagegate"):
            raise ValueError("streaming is for real-time endpoints of the imagegate contract")
        return self


def seed_groups(spec: GenerationSpec, params: SageMakerParams) -> list[Sequence[int]]:
    """The request's seeds, in groups of as many as one invocation takes."""
    per_call = min(params.images_per_call, CONTRACTS[params.contract].max_images_per_call or 16)
    return [spec.seeds[i : i + per_call] for i in range(0, spec.n, per_call)]
