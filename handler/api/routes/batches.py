from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from handler.api.deps import ApiKeyDep, CredentialsDep, DeadlineDep, MeterDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.pages import CursorPage, PageAfter, PageLimit
from handler.api.schemas import BatchCreate, BatchObject, WebhookSecret
from handler.api.work_deps import BatchesDep, WebhookMasterSecretDep, WorkReaderDep
from handler.core.webhooks import signing_secret

router = APIRouter(tags=["batches"], route_class=JsonBodyRoute)
# Lines per page of output: ten images each, with their URLs, stay far inside Lambda's 6 MB.
MAX_OUTPUT_PAGE = 200


@router.post("/batches", response_model=BatchObject, responses=ERROR_RESPONSES)
def create_batch(
    request: Request,
    body: BatchCreate,
    credentials: CredentialsDep,
    batches: BatchesDep,
    views: WorkReaderDep,
    deadline: DeadlineDep,
    meter: MeterDep,
) -> BatchObject:
    """Submit a batch: its lines inline, or leave ``input`` out and POST the file to the
    returned ``upload_url`` with its ``upload_fields``. Lines are charged as they run. An
    ``Idempotency-Key`` makes a retried submission answer the batch the first one made."""
    batch = batches.submit(
        credentials,
        lines=body.input,
        webhook_url=body.webhook_url,
        metadata=body.metadata or {},
        deadline=deadline,
        meter=meter,
        idempotency_key=request.headers.get("idempotency-key"),
    )
    return BatchObject.model_validate(views.shown(batch))


@router.get("/batches", responses=ERROR_RESPONSES)
def list_batches(
    key: ApiKeyDep, views: WorkReaderDep, limit: PageLimit = 20, after: PageAfter = None
) -> CursorPage[BatchObject]:
    """The calling key's batches, newest first (OpenAI's ``batches.list``)."""
    shown, more = views.batch_page(key.key_id, limit=limit, after=after)
    return CursorPage[BatchObject].of(
        [BatchObject.model_validate(batch) for batch in shown], has_more=more
    )


@router.get("/batches/{batch_id}", response_model=BatchObject, responses=ERROR_RESPONSES)
def get_batch(batch_id: str, credentials: CredentialsDep, views: WorkReaderDep) -> BatchObject:
    """Status, counts and cost; once finished, a presigned URL to ``output.jsonl``."""
    return BatchObject.model_validate(views.batch(batch_id, credentials))


@router.post("/batches/{batch_id}/cancel", response_model=BatchObject, responses=ERROR_RESPONSES)
def cancel_batch(batch_id: str, credentials: CredentialsDep, views: WorkReaderDep) -> BatchObject:
    """Lines not yet started end as ``batch_cancelled`` and cost nothing."""
    return BatchObject.model_validate(views.cancel(batch_id, credentials))


@router.get(
    "/batches/{batch_id}/output",
    responses={**ERROR_RESPONSES, 200: {"content": {"application/jsonl": {}}}},
)
def get_batch_output(
    batch_id: str,
    credentials: CredentialsDep,
    views: WorkReaderDep,
    start: Annotated[int, Query(ge=0, description="First line (its index) to return.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_OUTPUT_PAGE, description="Lines per page.")
    ] = MAX_OUTPUT_PAGE,
) -> Response:
    """The output, a page at a time, with a presigned ``url`` beside each image's
    ``s3_key``; lines recorded so far while the batch runs. ``x-next-start`` names the next
    page's ``start`` while there is one."""
    page = views.output(batch_id, credentials, start=start, limit=limit)
    response = Response(page.lines, media_type="application/jsonl")
    if page.next_start is not None:
        response.headers["x-next-start"] = str(page.next_start)
    return response


@router.get("/webhooks/secret", response_model=WebhookSecret, responses=ERROR_RESPONSES)
def get_webhook_secret(key: ApiKeyDep, master: WebhookMasterSecretDep) -> WebhookSecret:
    """The secret this key's webhooks are signed with (Standard Webhooks)."""
    return WebhookSecret(key=signing_secret(master, key.key_id))
