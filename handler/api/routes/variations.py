"""``POST /v1/images/variations``: OpenAI's ``images.create_variation``, for models that take
an input image. A variation is that image generated again, billed as a generation."""

from typing import Any

from fastapi import APIRouter, Request, Response

from handler.api.errors import ERROR_RESPONSES
from handler.api.generating import GenerationCallDep
from handler.api.routes.edits import read_form
from handler.core.errors import InvalidRequest
from handler.core.image_input import ImageSources
from handler.core.schemas import GenerationRequest, ImagesResponse, parse_request

router = APIRouter(tags=["images"])

# OpenAI's fields of a variation, beside its one image; the provider extensions users know.
_FIELDS = {"model", "n", "size", "response_format", "user", "seed", "strength"}
_PRICE_TERMS = {"quote_id", "max_cost"}  # the client's terms on the price, as a generation's
# What a model is asked: the image itself, again (a model needs some prompt with an image).
VARIATION_PROMPT = "A variation of this image, keeping its subject, composition and style."


@router.post(
    "/images/variations",
    response_model=ImagesResponse,
    responses=ERROR_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": {"type": "object"}}},
        }
    },
)
async def create_variation(request: Request, call: GenerationCallDep) -> Response:
    """Variations of one image (OpenAI's ``images.create_variation``): multipart ``image``,
    ``n``, ``size``, ``response_format``, ``user``."""
    body, sources = await _variation_request(request)
    model = call.needs.service.model(body)  # served, and quick enough: as every route checks
    if not model.max_input_images:
        raise InvalidRequest(
            f"{model.name} makes images from text only: it cannot vary an image. GET "
            "/v1/models lists each model's max_input_images.",
            param="model",
        )
    return await call.answer(body, sources)


async def _variation_request(request: Request) -> tuple[GenerationRequest, ImageSources]:
    """The form's fields as a generation of its one image."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidRequest(
            "Send a variation as a multipart form with the image as the file 'image'.",
            param="image",
            code="missing_required_parameter",
        )
    fields, sources = await read_form(request)
    body = _variation(fields)
    if len(sources.images) != 1 or sources.image_param != "image" or sources.mask is not None:
        raise InvalidRequest(
            "A variation takes exactly one image, as the file 'image', and no mask.",
            param="image",
            code="missing_required_parameter" if not sources.images else "invalid_value",
        )
    return body, sources


def _variation(fields: dict[str, Any]) -> GenerationRequest:
    for name in fields:
        if name not in _FIELDS | _PRICE_TERMS:
            raise InvalidRequest(
                f"Unrecognized request argument supplied: {name}",
                param=name,
                code="unknown_parameter",
            )
    return parse_request({**fields, "prompt": VARIATION_PROMPT})
