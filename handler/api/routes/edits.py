"""``POST /v1/images/edits``: OpenAI's multipart edits, or JSON with data URLs."""

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from handler.api.errors import ERROR_RESPONSES
from handler.api.forms import read_multipart
from handler.api.generating import GenerationCallDep
from handler.api.json_body import parse_json
from handler.core.errors import InvalidRequest
from handler.core.image_input import (
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    ImageSources,
    from_request,
    image_name,
)
from handler.core.schemas import GenerationRequest, ImagesResponse

router = APIRouter(tags=["images"])

# Form fields arrive as text: these are turned into numbers (or booleans) before the strict
# validation every other request gets.
_INTEGERS = {"n", "output_compression", "seed", "steps", "num_inference_steps", "partial_images"}
_NUMBERS = {"guidance_scale", "strength"}
_BOOLEANS = {"stream", "async"}
_AMOUNTS = {"max_cost"}  # digits are micro-units; a decimal string is read as an amount
_FILES = {"image", "image[]", "mask"}
_DATA_URL_FIELDS = {"imageDataUrl", "imageDataUrls", "maskDataUrl"}


@router.post(
    "/images/edits",
    response_model=ImagesResponse,
    responses=ERROR_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": {"type": "object"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/GenerationRequest"}},
            },
        }
    },
)
async def edit_image(request: Request, call: GenerationCallDep) -> Response:
    """Edit or vary images (OpenAI's ``images.edit``). With ``Prefer: respond-async`` (or
    ``"async": true``) the edit is queued as generations are: 202 and a job."""
    body, sources = await _edit_request(request)
    return await call.answer(body, sources, "image_edit")


async def _edit_request(request: Request) -> tuple[GenerationRequest, ImageSources]:
    """The edit as a multipart form (files) or JSON (data URLs) sends it."""
    content_type = request.headers.get("content-type", "").lower()
    missing_image = InvalidRequest(
        "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
    )
    if content_type.startswith("application/x-www-form-urlencoded"):
        raise missing_image  # such a form cannot carry files, whatever else it holds
    if content_type.startswith("multipart/form-data"):
        fields, sources = await read_form(request)
        body = _validated(fields)
    else:
        body = _validated(await _json(request))
        sources = from_request(body)
    if not sources.images:
        raise missing_image
    return body, sources


async def read_form(request: Request) -> tuple[dict[str, Any], ImageSources]:
    """A multipart form's text fields (numbers as numbers) and its image files."""
    form = await read_multipart(request, max_files=MAX_IMAGES + 1, max_fields=64)
    try:
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if name in _FILES:
                continue
            if isinstance(value, UploadFile):
                raise InvalidRequest(f"{name} must be a form field, not a file.", param=name)
            if name in _DATA_URL_FIELDS:
                raise InvalidRequest(
                    f"In a form, send images as files (image, image[], mask), not {name}.",
                    param=name,
                )
            fields[name] = _typed(name, value)
        image_param = "image[]" if "image[]" in form else "image"
        uploads = [value for name, value in form.multi_items() if name in ("image", "image[]")]
        images = tuple(
            [
                await _read(upload, image_name(image_param, index, len(uploads)))
                for index, upload in enumerate(uploads)
            ]
        )
        mask = form.get("mask")
        sources = ImageSources(
            images, None if mask is None else await _read(mask, "mask"), image_param, "mask"
        )
    finally:
        await form.close()  # its spooled upload files, however this ends
    return fields, sources


def _typed(name: str, value: str) -> Any:
    try:
        if name in _INTEGERS:
            return int(value)
        if name in _NUMBERS:
            return float(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"Invalid type for '{name}': expected a number.", param=name, code="invalid_type"
        ) from exc
    if name in _BOOLEANS:
        return value.strip().lower() in ("true", "1")
    if name in _AMOUNTS and value.isdigit():
        return int(value)
    return value


async def _read(upload: object, param: str) -> bytes:
    if not isinstance(upload, UploadFile):
        raise InvalidRequest(f"{param} must be an uploaded file.", param=param)
    if upload.size is not None and upload.size > MAX_IMAGE_BYTES:  # before reading it in
        raise InvalidRequest(
            f"{param} is {upload.size / 2**20:.1f} MB; each image may be at most "
            f"{MAX_IMAGE_BYTES // 2**20} MB.",
            param=param,
            code="image_too_large",
        )
    data: bytes = await upload.read()
    return data


async def _json(request: Request) -> Any:
    try:
        return parse_json(await request.body(), request.headers)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"We could not parse the JSON body of your request ({exc.msg}). Send a JSON "
            "object, or a multipart form.",
            code="invalid_json",
        ) from exc


def _validated(body: Any) -> GenerationRequest:
    try:
        return GenerationRequest.model_validate(body)
    except ValidationError as exc:
        # The one error translation FastAPI would do for a declared body.
        raise RequestValidationError(exc.errors(include_url=False)) from exc
