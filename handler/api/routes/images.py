from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from handler.api.deps import (
    CredentialsDep,
    DeadlineDep,
    GenerationServiceDep,
    QueuedWorkDep,
    RequestIdDep,
    WorkReaderDep,
)
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.middleware import public_path
from handler.api.schemas import ImageJob
from handler.core.billing import Meter
from handler.core.deadline import Deadline
from handler.core.errors import InvalidRequest
from handler.core.generation import GenerationService
from handler.core.image_input import ImageSources
from handler.core.ports import Credentials
from handler.core.schemas import GenerationRequest, ImagesResponse
from handler.core.work.submit import QueuedWork
from handler.observability import logger

router = APIRouter(tags=["images"], route_class=JsonBodyRoute)


@router.post(
    "/images/generations",
    response_model=ImagesResponse,
    responses={**ERROR_RESPONSES, 202: {"model": ImageJob}},
)
async def create_image(
    request: Request,
    body: GenerationRequest,
    credentials: CredentialsDep,
    service: GenerationServiceDep,
    queued: QueuedWorkDep,
    request_id: RequestIdDep,
    deadline: DeadlineDep,
) -> Response:
    """Generate images from a prompt (OpenAI's ``images.generate``).

    With ``Prefer: respond-async`` (or ``"async": true``) the generation is queued instead:
    202 and a job to poll at ``GET /v1/images/jobs/{id}``, or to hear of by webhook.
    """
    if wants_async(request, body):
        return await queue_generation(request, body, credentials, queued, deadline)
    if body.webhook_url is not None:
        raise InvalidRequest(
            "webhook_url applies to async requests (Prefer: respond-async).", param="webhook_url"
        )
    return await respond(request, service, body, credentials, request_id, deadline, None)


def wants_async(request: Request, body: GenerationRequest) -> bool:
    """``Prefer: respond-async`` or ``"async": true``."""
    return bool(body.async_) or "respond-async" in request.headers.get("prefer", "").lower()


async def queue_generation(
    request: Request,
    body: GenerationRequest,
    credentials: Credentials,
    queued: QueuedWork,
    deadline: Deadline,
) -> Response:
    """Queue the generation: 202, the job, and where to poll it."""
    meter = Meter()
    try:
        job = await run_in_threadpool(
            queued.submit_job,
            body,
            credentials,
            deadline=deadline,
            meter=meter,
            idempotency_key=request.headers.get("idempotency-key"),
        )
    finally:
        request.state.rate_window = meter.window
    logger.info("job queued", job_id=job["id"], key_id=credentials.key_id)
    return Response(
        ImageJob.model_validate(job).model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={
            "location": public_path(request, "get_image_job", job_id=job["id"]),
            "preference-applied": "respond-async",
        },
    )


@router.get("/images/jobs/{job_id}", response_model=ImageJob, responses=ERROR_RESPONSES)
def get_image_job(job_id: str, credentials: CredentialsDep, views: WorkReaderDep) -> ImageJob:
    """An async generation: its status and, once it succeeded, the synchronous call's body
    (with fresh image URLs)."""
    return ImageJob.model_validate(views.job(job_id, credentials))


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
