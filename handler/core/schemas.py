"""The OpenAI-compatible request and response bodies of image generation.

They are the contract of the HTTP API, of async jobs and of batch lines alike. Limits that
depend on the model (sizes, n, steps, prompt length) are checked against the catalog by
``handler.core.spec``; these models hold what is true of every model.
"""

import time
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from handler.core.amounts import UnsignedMicros
from handler.core.model_card import MAX_SEED, Background, OutputFormat, Style
from handler.core.price_tables import Quality
from handler.core.validation import Text, invalid_request


class GenerationRequest(BaseModel):
    """Body of ``POST /v1/images/generations``."""

    # strict: "2" is not an int, and a typo in a parameter name is an error, not a default.
    model_config = ConfigDict(strict=True, extra="forbid")

    prompt: Annotated[Text, Field(description="What to draw. Limits depend on the model.")]
    model: Annotated[
        Text | None, Field(min_length=1, description="Model id; the catalog default if absent.")
    ] = None
    n: Annotated[int | None, Field(ge=1, description="How many images (model's max_n).")] = 1
    size: Annotated[
        Text | None, Field(description="WIDTHxHEIGHT from the model's sizes, or 'auto'.")
    ] = "auto"
    quality: Quality | None = None
    response_format: Annotated[
        Literal["url", "b64_json"] | None,
        Field(
            description="'url' (presigned, short-lived) or 'b64_json' inline; by default the "
            "model's (b64_json under gpt-image names, url under dall-e names)."
        ),
    ] = None
    output_format: OutputFormat | None = "png"
    output_compression: Annotated[
        int | None, Field(ge=0, le=100, description="0-100, for jpeg and webp.")
    ] = None
    background: Background | None = None
    style: Style | None = None
    moderation: Literal["auto", "low"] | None = None
    user: Annotated[Text | None, Field(max_length=256, description="End-user id.")] = None
    safety_identifier: Annotated[
        Text | None, Field(max_length=256, description="End-user id (OpenAI's newer name).")
    ] = None
    input_fidelity: Annotated[
        Literal["low", "high"] | None,
        Field(description="How closely an edit keeps its input images' features."),
    ] = None
    seed: Annotated[int | None, Field(ge=0, le=MAX_SEED, description="Image i gets seed + i.")] = (
        None
    )
    steps: Annotated[int | None, Field(ge=1, description="Denoising steps.")] = None
    num_inference_steps: Annotated[int | None, Field(ge=1, description="Alias of steps.")] = None
    guidance_scale: Annotated[float | None, Field(ge=0, description="Prompt adherence.")] = None
    negative_prompt: Annotated[Text | None, Field(description="What not to draw.")] = None
    image: Annotated[
        Text | list[Text] | None,
        Field(description="Input image(s) as data URLs, for models that take them."),
    ] = None
    imageDataUrl: Annotated[Text | None, Field(description="One input image (data URL).")] = None
    imageDataUrls: Annotated[
        list[Text] | None, Field(description="Several input images (data URLs).")
    ] = None
    mask: Annotated[
        Text | None, Field(description="Inpainting mask (data URL), the size of the image.")
    ] = None
    maskDataUrl: Annotated[Text | None, Field(description="Alias of mask.")] = None
    strength: Annotated[
        float | None,
        Field(ge=0, le=1, description="How far from the input image to go (1: ignore it)."),
    ] = None
    async_: Annotated[
        bool | None,
        Field(
            alias="async",
            description="Queue the generation: 202 and a job to poll (as Prefer: respond-async).",
        ),
    ] = None
    webhook_url: Annotated[
        Text | None,
        Field(description="With async: where the finished job is POSTed, signed."),
    ] = None
    stream: Annotated[
        bool | None,
        Field(description="Answer as server-sent events: partial images, then the image."),
    ] = None
    partial_images: Annotated[
        int | None, Field(ge=0, le=3, description="With stream: previews before the image.")
    ] = None
    quote_id: Annotated[
        Text | None,
        Field(
            max_length=64,
            description="A quote (POST /v1/images/quotes) of this request: charged its price.",
        ),
    ] = None
    max_cost: Annotated[
        UnsignedMicros | None,
        Field(description="The most the request may cost; dearer is a 402, nothing reserved."),
    ] = None


def parse_request(body: object) -> GenerationRequest:
    """A generation request from a parsed JSON body (a batch line's, an async job's)."""
    try:
        return GenerationRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


class ImageData(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    seed: Annotated[int | None, Field(description="The seed that reproduces this image.")] = None


class TokensDetails(BaseModel):
    text_tokens: int = 0
    image_tokens: int = 0


class ImagesUsage(BaseModel):
    """OpenAI's usage block, its field names kept (tokens do not apply here and stay 0), plus
    the image count."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: TokensDetails = Field(default_factory=TokensDetails)
    output_tokens_details: TokensDetails = Field(default_factory=TokensDetails)
    images: int


class StoredImage(BaseModel):
    """An image kept in the bucket: its object key, never a URL anyone could use."""

    # "url": how results written before this type named the key.
    s3_key: Annotated[str, Field(validation_alias=AliasChoices("s3_key", "url"))]
    seed: int | None = None


def object_prefix(created: int, request_id: str) -> str:
    """``images/YYYY/MM/DD/<request id>``: one request's images side by side, by day."""
    return f"images/{time.strftime('%Y/%m/%d', time.gmtime(created))}/{request_id}"


class _Images(BaseModel):
    """What a generation's answer says, whatever form its images take."""

    id: str
    object: Literal["image.generation"] = "image.generation"
    created: int
    model: str
    size: str
    quality: str
    background: str
    output_format: OutputFormat
    data: list[Any]
    usage: ImagesUsage
    cost: Annotated[
        int | None, Field(description="What this request was charged, in micro-units.")
    ] = None
    remaining_balance: Annotated[
        int | None,
        Field(description="The key's balance once this request settled, in micro-units."),
    ] = None


class ImagesResponse(_Images):
    """The answer a client gets: images by presigned URL or inline."""

    data: list[ImageData]


class StoredImages(_Images):
    """A generation as it is kept (an Idempotency-Key's record, a queued line's result):
    images by object key, presigned or read only when answered."""

    data: list[StoredImage]
