from fastapi import APIRouter, Response

from handler.api.deps import ApiKeyDep, CredentialsDep, CurrencyDep, RequestIdDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.generating import GenerationCallDep
from handler.api.json_body import JsonBodyRoute
from handler.api.pages import CursorPage, PageAfter, PageLimit
from handler.api.schemas import ImageJob, ImageQuote
from handler.api.work_deps import AsyncJobsDep, GenerationServiceDep, WorkReaderDep
from handler.core.schemas import GenerationRequest, ImagesResponse

router = APIRouter(tags=["images"], route_class=JsonBodyRoute)


@router.post(
    "/images/generations",
    response_model=ImagesResponse,
    responses={**ERROR_RESPONSES, 202: {"model": ImageJob}},
)
async def create_image(body: GenerationRequest, call: GenerationCallDep) -> Response:
    """Generate images from a prompt (OpenAI's ``images.generate``).

    With ``Prefer: respond-async`` (or ``"async": true``) the generation is queued instead:
    202 and a job to poll at ``GET /v1/images/jobs/{id}``, or to hear of by webhook.
    """
    return await call.answer(body)


@router.post("/images/quotes", responses=ERROR_RESPONSES)
def create_quote(
    body: GenerationRequest,
    key: ApiKeyDep,
    service: GenerationServiceDep,
    request_id: RequestIdDep,
    currency: CurrencyDep,
) -> ImageQuote:
    """The price of a generation request (the same body), held for the calling key for five
    minutes: a generation that sends the quote's ``id`` as ``quote_id`` is charged it, even if
    the catalog's price changed meanwhile. Checked as the generation would be; costs nothing.
    ``max_cost`` refuses a dearer quote as it would the generation (402)."""
    return ImageQuote.of(service.quote(body, key, request_id), currency)


@router.get("/images/jobs", responses=ERROR_RESPONSES)
def list_image_jobs(
    key: ApiKeyDep, views: WorkReaderDep, limit: PageLimit = 20, after: PageAfter = None
) -> CursorPage[ImageJob]:
    """The calling key's async generations, newest first; results by URL whatever format
    each asked for (``GET /v1/images/jobs/{id}`` answers in its own)."""
    shown, more = views.job_page(key.key_id, limit=limit, after=after)
    return CursorPage[ImageJob].of([ImageJob.model_validate(job) for job in shown], has_more=more)


@router.get("/images/jobs/{job_id}", response_model=ImageJob, responses=ERROR_RESPONSES)
def get_image_job(job_id: str, credentials: CredentialsDep, views: WorkReaderDep) -> ImageJob:
    """An async generation: its status and, once it succeeded, the synchronous call's body
    (with fresh image URLs)."""
    return ImageJob.model_validate(views.job(job_id, credentials))


@router.post("/images/jobs/{job_id}/cancel", response_model=ImageJob, responses=ERROR_RESPONSES)
def cancel_image_job(job_id: str, credentials: CredentialsDep, jobs: AsyncJobsDep) -> ImageJob:
    """Cancel a job that has not started: it ends ``cancelled`` and costs nothing. A job
    already running or finished is a 409 ``job_not_cancellable``."""
    return ImageJob.model_validate(jobs.cancel(job_id, credentials))
