from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from handler.api.deps import CredentialsDep, DeadlineDep, GenerationServiceDep, RequestIdDep
from handler.api.errors import ERROR_RESPONSES
from handler.core.billing import Meter
from handler.core.deadline import Deadline
from handler.core.generation import GenerationService
from handler.core.image_input import ImageSources
from handler.core.ports import Credentials
from handler.core.schemas import GenerationRequest, ImagesResponse
from handler.observability import logger

router = APIRouter(tags=["images"])


@router.post("/images/generations", response_model=ImagesResponse, responses=ERROR_RESPONSES)
async def create_image(
    request: Request,
    body: GenerationRequest,
    credentials: CredentialsDep,
    service: GenerationServiceDep,
    request_id: RequestIdDep,
    deadline: DeadlineDep,
) -> Response:
    """Generate images from a prompt (OpenAI's ``images.generate``)."""
    return await respond(request, service, body, credentials, request_id, deadline, None)


async def respond(
    request: Request,
    service: GenerationService,
    body: GenerationRequest,
    credentials: Credentials,
    request_id: str,
    deadline: Deadline,
    sources: ImageSources | None,
) -> Response:
    """Run the generation off the event loop (it blocks on backends and S3) and answer."""
    meter = Meter()
    try:
        result = await run_in_threadpool(
            service.generate,
            body,
            credentials=credentials,
            request_id=request_id,
            deadline=deadline,
            sources=sources,
            meter=meter,
            idempotency_key=request.headers.get("idempotency-key"),
        )
    finally:
        request.state.rate_window = meter.window
    logger.info(
        "images generated",
        request_id=request_id,
        key_id=credentials.key_id,
        cost=result.cost,
        model=result.model,
        size=result.size,
        n=len(result.data),
        response_format=body.response_format,
    )
    # Serialised by pydantic directly: a re-validation of megabytes of base64 buys nothing.
    response = Response(result.model_dump_json(exclude_none=True), media_type="application/json")
    if result.id != request_id:  # the first response to this Idempotency-Key, replayed
        response.headers["idempotent-replayed"] = "true"
    return response
