"""Bodies of the batch and async-job routes (generation bodies are in ``core/schemas.py``)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from handler.api.pages import Listed
from handler.core.records.quotes import Quote
from handler.core.records.work import MAX_LINES
from handler.core.schemas import ImagesResponse
from handler.core.validation import Text


class ImageJob(Listed):
    object: Literal["image.generation.job"] = "image.generation.job"
    status: Annotated[
        Literal["in_progress", "succeeded", "failed", "cancelled"],
        Field(description="Where the job is."),
    ]
    created_at: int
    completed_at: int | None = None
    cancelled_at: int | None = None
    cost: Annotated[int, Field(description="Charged so far, in micro-units.")] = 0
    result: Annotated[
        ImagesResponse | None,
        Field(description="Once succeeded: the body the synchronous call would have answered."),
    ] = None
    status_code: Annotated[
        int | None,
        Field(description="Once failed: the status the synchronous call would have had."),
    ] = None
    error: Annotated[
        dict[str, Any] | None, Field(description="Once failed: OpenAI's error object.")
    ] = None


class BatchCreate(BaseModel):
    """``POST /v1/batches``: the lines inline, or none for a presigned upload URL."""

    model_config = ConfigDict(strict=True, extra="forbid")

    input: Annotated[
        list[dict[str, Any]] | None,
        Field(
            max_length=MAX_LINES,
            description="The batch's lines, as in a Batch JSONL file. Leave out to get an "
            "upload_url for the file instead.",
        ),
    ] = None
    endpoint: Literal["/v1/images/generations"] = "/v1/images/generations"
    completion_window: Literal["24h"] = "24h"
    webhook_url: Annotated[
        Text | None, Field(description="POSTed, signed, when the batch finishes.")
    ] = None
    metadata: Annotated[
        dict[Text, Text] | None, Field(description="Up to 16 labels, returned as given.")
    ] = None


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class BatchObject(Listed):
    object: Literal["batch"] = "batch"
    endpoint: str
    status: str
    created_at: int
    completed_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts
    cost: Annotated[int, Field(description="Charged for its lines so far, in micro-units.")]
    metadata: dict[str, str]
    errors: dict[str, Any] | None = None
    output_key: Annotated[
        str | None, Field(description="Object key of output.jsonl in the bucket.")
    ] = None
    output_url: Annotated[
        str | None,
        Field(description="output.jsonl, presigned for a few minutes; images by object key."),
    ] = None
    upload_url: Annotated[
        str | None,
        Field(
            description="POST the Batch JSONL file here as a multipart form: upload_fields "
            "first, then the file as 'file' (awaiting_upload only). S3 refuses files over "
            "the batch limit."
        ),
    ] = None
    upload_fields: Annotated[
        dict[str, str] | None,
        Field(description="The form fields of the upload, exactly as given."),
    ] = None


class WebhookSecret(BaseModel):
    object: Literal["webhook.secret"] = "webhook.secret"
    key: Annotated[str, Field(description="whsec_ secret that signs this key's webhooks.")]


class ImageQuote(BaseModel):
    """``POST /v1/images/quotes``: what a generation request costs, held for the calling key
    until ``expires_at`` for one generation that sends ``quote_id``."""

    id: Annotated[str, Field(description="Send it as the generation's quote_id.")]
    object: Literal["image.quote"] = "image.quote"
    created: Annotated[int, Field(description="Unix seconds.")]
    model: Annotated[str, Field(description="The model priced (the catalog's id).")]
    size: Annotated[str, Field(description="WIDTHxHEIGHT, as the request makes it.")]
    quality: Annotated[str, Field(description="The model's quality tier it is priced at.")]
    steps: Annotated[
        int | None, Field(description="Steps priced (the model's default if not asked).")
    ] = None
    n: int
    unit_price: Annotated[int, Field(description="Per image, in micro-units.")]
    amount: Annotated[int, Field(description="n times unit_price: the most it charges.")]
    currency: Annotated[str, Field(description="ISO 4217, lower case.")]
    expires_at: Annotated[int, Field(description="Unix seconds: a generation must start by then.")]

    @classmethod
    def of(cls, quote: Quote, currency: str) -> "ImageQuote":
        terms = quote.terms
        return cls(
            id=quote.id,
            created=quote.created_at,
            model=terms.model,
            size=terms.size,
            quality=terms.quality,
            steps=terms.steps,
            n=terms.n,
            unit_price=quote.unit_price,
            amount=quote.amount,
            currency=currency,
            expires_at=quote.expires_at,
        )
