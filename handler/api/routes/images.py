from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from handler.api.deps import ApiKeyDep, DeadlineDep, GenerationServiceDep, RequestIdDep
from handler.api.errors import ERROR_RESPONSES
from handler.core.deadline import Deadline
from handler.core.generation import GenerationService
from handler.core.image_input import ImageSources
from handler.core.ports import ApiKeyRecord
from handler.core.schemas import GenerationRequest, ImagesResponse
from handler.observability import logger

router = APIRouter(tags=["images"])


@router.post("/images/generations", response_model=ImagesResponse, responses=ERROR_RESPONSES)
async def create_image(
    body: GenerationRequest,
    key: ApiKeyDep,
    service: GenerationServiceDep,
    request_id: RequestIdDep,
    deadline: DeadlineDep,
) -> Response:
    """Generate images from a prompt (OpenAI's ``images.generate``)."""
    return await respond(service, body, key, request_id, deadline, None)


async def respond(
    service: GenerationService,
    body: GenerationRequest,
    key: ApiKeyRecord,
    request_id: str,
    deadline: Deadline,
    sources: ImageSources | None,
) -> Response:
    """Run the generation off the event loop (it blocks on backends and S3) and answer."""
    result = await run_in_threadpool(
        service.generate, body, request_id=request_id, deadline=deadline, sources=sources
    )
    logger.info(
        "images generated",
        request_id=request_id,
        key_id=key.key_id,
        model=result.model,
        size=result.size,
        n=len(result.data),
        response_format=body.response_format,
    )
    # Serialised by pydantic directly: a re-validation of megabytes of base64 buys nothing.
    return Response(result.model_dump_json(exclude_none=True), media_type="application/json")
